/**
 * Optimizer: the base class of the optimisers, as torch.optim.Optimizer.
 *
 * An optimiser holds parameter groups (each a list of parameters with its own
 * hyper-parameters: `optimizer.paramGroups[0].lr = 1e-4` changes the learning rate, which is
 * what the schedulers do) and a state per parameter (moment estimates, momentum buffers).
 * `step()` updates every parameter that has a gradient with one native call per group (the
 * fused multi-tensor update in native/src/kernels/optim). State tensors are exempt from tidy
 * scopes; `dispose()` frees them.
 *
 * State dicts follow PyTorch's layout, so the structure matches `optimizer.state_dict()`:
 *
 *     { state: { 0: { step, exp_avg, exp_avg_sq }, 1: ... },          // by parameter index
 *       param_groups: [{ lr, betas, eps, weight_decay, ..., params: [0, 1, ...] }] }
 *
 * with PyTorch's snake_case hyper-parameter names and `step` a 0-D float32 tensor (1.13).
 *
 * @example
 * const opt = new tn.optim.AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 * for (const batch of batches) {
 *   opt.zeroGrad();
 *   tn.tidy(() => lossOf(model, batch).backward());
 *   opt.step();
 * }
 */
import { noGrad } from '../autograd';
import { native } from '../binding';
import { full } from '../creation';
import { isFloating } from '../dtype';
import { describe, typeError } from '../errors';
import { keep } from '../memory';
import { Tensor } from '../tensor';

/** A parameter group: its parameters and every hyper-parameter. */
export type ParamGroup<O> = O & { params: Tensor[] };

/** PyTorch's layout of an optimiser's state dict. */
export interface OptimizerStateDict {
  /** Per parameter index (counted across groups, in order), the state tensors. */
  state: Record<number, Record<string, Tensor>>;
  /** Hyper-parameters in PyTorch's names, and the indices of the group's parameters. */
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

/** Per-parameter state: tensors, and `step` as a number. */
export type ParamState = Record<string, Tensor | number>;

/** The base class of the optimisers; see the module documentation. */
export abstract class Optimizer<O extends object> {
  /** The parameter groups; change hyper-parameters here (e.g. `paramGroups[0].lr`). */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** @internal State per parameter. */
  protected readonly state = new Map<Tensor, ParamState>();
  protected readonly defaults: O;
  private disposed = false;

  protected constructor(params: Iterable<Tensor> | Iterable<{ params: Iterable<Tensor> } & Partial<O>>, defaults: O) {
    this.defaults = defaults;
    const name = this.constructor.name;
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function')
      typeError(name, 'an iterable of Tensors or of parameter groups ({ params, ...options })', params);
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new RangeError(`${name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as { params: Tensor[] } & Partial<O>);
    else for (const g of list) this.addParamGroup(g as { params: Iterable<Tensor> } & Partial<O>);
  }

  /** Checks and completes a group's hyper-parameters (throws in the project's wording). */
  protected abstract checkOptions(where: string, o: O): O;
  /** A group's hyper-parameters in PyTorch's names. */
  protected abstract toTorch(g: O): Record<string, unknown>;
  /** Hyper-parameters from PyTorch's names. */
  protected abstract fromTorch(where: string, g: Record<string, unknown>): O;

  /** Adds a group of parameters (options default to the optimiser's). */
  addParamGroup(group: { params: Iterable<Tensor> } & Partial<O>): void {
    const where = `${this.constructor.name}.addParamGroup`;
    if (group === null || typeof group !== 'object') typeError(where, 'a parameter group ({ params, ...options })', group);
    const raw = group.params;
    if (raw === null || typeof raw !== 'object' || typeof (raw as Iterable<unknown>)[Symbol.iterator] !== 'function')
      typeError(`${where}: params`, 'an iterable of Tensors', raw);
    const params = [...raw];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) typeError(`${where}: params[${i}]`, 'a Tensor', p);
      if (!isFloating(p.dtype)) typeError(`${where}: params[${i}]`, 'a floating-point tensor', `${p.dtype} tensor`);
      if (!p.isLeaf) throw new TypeError(`${where}: params[${i}]: can't optimize a non-leaf Tensor`);
      if (seen.has(p)) throw new RangeError(`${where}: some parameters appear in more than one parameter group`);
      seen.add(p);
    });
    const { params: _ignored, ...options } = group;
    const merged = this.checkOptions(where, { ...this.defaults, ...withoutUndefined(options) } as O);
    this.paramGroups.push({ ...merged, params } as ParamGroup<O>);
  }

  /** Updates every parameter that has a gradient (one fused native call per group). */
  step(): void {
    this.checkAlive('step');
    for (const g of this.paramGroups) {
      const [params, grads] = withGradients(g.params);
      try {
        if (params.length) native.op(...this.prepareGroup(g, params, grads));
      } finally {
        for (const gr of grads) gr.dispose();
      }
    }
  }

  /**
   * {@link step} on the addon's native worker: the event loop keeps running meanwhile. Leave
   * the parameters, their gradients and the optimiser alone until the promise settles.
   */
  async stepAsync(): Promise<void> {
    this.checkAlive('stepAsync');
    for (const g of this.paramGroups) {
      const [params, grads] = withGradients(g.params);
      try {
        if (params.length) await native.opAsync(...this.prepareGroup(g, params, grads));
      } finally {
        for (const gr of grads) gr.dispose();
      }
    }
  }

  /**
   * @internal Creates missing state for one group's parameters that have gradients and
   * returns the fused native op's index and arguments.
   */
  protected abstract prepareGroup(g: ParamGroup<O>, params: Tensor[], grads: Tensor[]): [number, ...unknown[]];

  /** @internal The state of `p`, created by `init` on first use. */
  protected stateOf(p: Tensor, init: () => ParamState): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = init();
      for (const v of Object.values(s)) if (v instanceof Tensor) keep(v);
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * Clears the gradients of every parameter: sets them to null (`setToNone`, the default, as
   * PyTorch ≥ 2.0), or zeroes them in place.
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    if (typeof setToNone !== 'boolean') typeError('zeroGrad: setToNone', 'a boolean', setToNone);
    for (const g of this.paramGroups)
      for (const p of g.params) {
        if (setToNone) {
          p.grad = null;
          continue;
        }
        const gr = p.grad;
        if (gr) {
          noGrad(() => gr.zero_());
          gr.dispose();
        }
      }
  }

  /**
   * The state in PyTorch's layout (see the module documentation). Tensors are new handles
   * (detached views sharing the optimiser's storage, and new 0-D `step` tensors): dispose
   * them, or call this inside `tn.tidy`.
   */
  stateDict(): OptimizerStateDict {
    this.checkAlive('stateDict');
    const state: Record<number, Record<string, Tensor>> = {};
    const groups: OptimizerStateDict['param_groups'] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) {
          const out: Record<string, Tensor> = {};
          for (const [k, v] of Object.entries(s)) out[k] = typeof v === 'number' ? full([], v, { dtype: 'float32' }) : v.detach();
          state[index] = out;
        }
        ids.push(index++);
      }
      groups.push({ ...this.toTorch(g), params: ids });
    }
    return { state, param_groups: groups };
  }

  /**
   * Loads a state dict in PyTorch's layout (from {@link stateDict} or from Python): the
   * groups must have as many parameters as this optimiser's, each state tensor its
   * parameter's shape. State tensors are copied (cast to the parameter's dtype and device),
   * so the caller may dispose the dict afterwards. Hyper-parameters are taken from the dict.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = `${this.constructor.name}.loadStateDict`;
    this.checkAlive('loadStateDict');
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || sd.state === null || typeof sd.state !== 'object')
      typeError(where, 'a state dict ({ state, param_groups })', sd);
    if (sd.param_groups.length !== this.paramGroups.length)
      throw new RangeError(`${where}: loaded state dict has a different number of parameter groups (${sd.param_groups.length} instead of ${this.paramGroups.length})`);
    const byIndex = new Map<number, Tensor>();
    const options: O[] = [];
    sd.param_groups.forEach((sg, gi) => {
      const ours = this.paramGroups[gi];
      if (!Array.isArray(sg.params) || sg.params.length !== ours.params.length)
        throw new RangeError(`${where}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${gi})`);
      sg.params.forEach((id, k) => byIndex.set(Number(id), ours.params[k]));
      options.push(this.checkOptions(`${where}: param_groups[${gi}]`, this.fromTorch(`${where}: param_groups[${gi}]`, sg)));
    });
    // Check everything before changing anything.
    const loaded = new Map<Tensor, [string, Tensor | number][]>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new RangeError(`${where}: state for parameter ${key}, which no parameter group lists`);
      if (entry === null || typeof entry !== 'object') typeError(`${where}: state[${key}]`, 'an object of tensors', entry);
      const items: [string, Tensor | number][] = [];
      for (const [k, v] of Object.entries(entry)) {
        if (!(v instanceof Tensor)) typeError(`${where}: state[${key}].${k}`, 'a Tensor', v);
        if (k === 'step') {
          items.push([k, Number(v.item())]);
          continue;
        }
        const a = v.shape;
        const b = p.shape;
        if (a.length !== b.length || a.some((d, i) => d !== b[i]))
          throw new RangeError(`${where}: state[${key}].${k} has shape [${a.join(', ')}], but its parameter has shape [${b.join(', ')}]`);
        items.push([k, v]);
      }
      loaded.set(p, items);
    }
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    for (const [p, items] of loaded) {
      const s: ParamState = {};
      for (const [k, v] of items) s[k] = typeof v === 'number' ? v : keep(noGrad(() => v.to({ dtype: p.dtype, device: p.device, copy: true })));
      this.state.set(p, s);
    }
    options.forEach((o, gi) => Object.assign(this.paramGroups[gi], o));
  }

  /** Frees the state tensors (the parameters belong to the model). Safe to call twice. */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    this.disposed = true;
  }

  private checkAlive(where: string): void {
    if (this.disposed) throw new Error(`${this.constructor.name}.${where}: the optimizer has been disposed`);
  }
}

/** Checks a number >= 0 (or in [lo, hi) when given). */
export function checkHyper(where: string, name: string, v: unknown, lo = 0, hi = Infinity, hiInclusive = true): number {
  if (typeof v !== 'number' || Number.isNaN(v)) typeError(`${where}: ${name}`, 'a number', v);
  const ok = v >= lo && (hiInclusive ? v <= hi : v < hi);
  if (!ok) throw new RangeError(`${where}: ${name}: expected a number in [${lo}, ${hi}${hiInclusive ? ']' : ')'}, but got ${describe(v)}`);
  return v;
}

/** The entries of `o` whose value is not undefined (an undefined option means its default). */
export function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The parameters that have a gradient, and those gradients (new handles: dispose them). */
function withGradients(params: Tensor[]): [Tensor[], Tensor[]] {
  const ps: Tensor[] = [];
  const gs: Tensor[] = [];
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    ps.push(p);
    gs.push(g);
  }
  return [ps, gs];
}
