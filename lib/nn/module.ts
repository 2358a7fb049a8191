/**
 * Module: the base class of layers, as torch.nn.Module.
 *
 * A module owns parameters (trainable leaf tensors), buffers (state such as running
 * statistics or fixed indices) and submodules, each registered under a name. Registration
 * also defines a property of that name, so `this.weight` reads (and assigning to it
 * replaces) the registered tensor. Names compose with dots into state-dict keys
 * ('encoder.layers.0.weight'), exactly as PyTorch, so `loadStateDict` takes a dict saved
 * from Python (`safetensors.torch.save_file(model.state_dict(), path)` → `tn.loadSafetensors`).
 *
 * Parameters and buffers are exempt from tidy scopes (`tn.keep`): building or running a
 * model inside `tn.tidy` never frees them. `dispose()` frees them all.
 *
 * @example
 * class MLP extends tn.nn.Module {
 *   declare fc1: tn.nn.Linear;      // `declare`: the property is defined by registerModule
 *   declare fc2: tn.nn.Linear;
 *   constructor() {
 *     super();
 *     this.registerModule('fc1', new tn.nn.Linear(4, 16));
 *     this.registerModule('fc2', new tn.nn.Linear(16, 2));
 *   }
 *   forward(x: tn.Tensor): tn.Tensor {
 *     return tn.tidy(() => this.fc2.forward(this.fc1.forward(x).relu()));
 *   }
 * }
 * const m = new MLP();
 * m.stateDict();                     // { 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias' }
 */
import { noGrad } from '../autograd';
import type { Device } from '../creation';
import { DType, isDType, isFloating } from '../dtype';
import { describe, typeError } from '../errors';
import { keep } from '../memory';
import { Tensor } from '../tensor';

/** What {@link Module.loadStateDict} reports (with `strict: false`, the keys it skipped). */
export interface LoadStateDictResult {
  /** Keys the module expects that the state dict lacks. */
  missingKeys: string[];
  /** Keys of the state dict the module does not have. */
  unexpectedKeys: string[];
}

/** Options of {@link Module.stateDict}. */
export interface StateDictOptions {
  /** Prepended to every key. */
  prefix?: string;
  /**
   * Return the module's own tensors rather than detached views of them (default false,
   * as PyTorch's `keep_vars`). Views share storage: writing into them writes the model.
   */
  keepVars?: boolean;
}

type Kind = 'parameter' | 'buffer' | 'module';

const NAME = /^[A-Za-z_$][\w$]*$|^\d+$/;

/** The base class of every layer; see the module documentation. */
export abstract class Module {
  /** Whether the module is in training mode (dropout active); see {@link train}. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module | null>();
  private _disposed = false;

  /**
   * The computation. Subclasses define its signature (`forward(x: Tensor): Tensor`, ...).
   * Call it directly: `model.forward(x)`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): any;

  // ---- registration ----------------------------------------------------------------------

  /**
   * Registers a parameter (or null: a declared but absent parameter, as a missing bias) and
   * defines `this[name]`. The tensor must be a floating leaf; it gets `requiresGrad` (unless
   * `requiresGrad` is false) and is exempt from tidy scopes. Returns the tensor.
   */
  registerParameter<T extends Tensor | null>(name: string, t: T, requiresGrad = true): T {
    const where = `${this.constructor.name}.registerParameter`;
    this.checkName(where, name, 'parameter');
    this._parameters.set(name, this.adoptParameter(`${where}('${name}')`, t, requiresGrad));
    this.defineAccessor(name, 'parameter');
    return t;
  }

  /**
   * Registers a buffer (state that is not trained: running statistics, index tables) and
   * defines `this[name]`. Persistent buffers appear in {@link stateDict}. Exempt from tidy
   * scopes. Returns the tensor.
   */
  registerBuffer<T extends Tensor | null>(name: string, t: T, persistent = true): T {
    const where = `${this.constructor.name}.registerBuffer`;
    this.checkName(where, name, 'buffer');
    if (t !== null && !(t instanceof Tensor)) typeError(`${where}('${name}')`, 'a Tensor or null', t);
    if (t !== null) keep(t);
    this._buffers.set(name, t);
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    this.defineAccessor(name, 'buffer');
    return t;
  }

  /** Registers a submodule (or null) and defines `this[name]`. Returns the module. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    const where = `${this.constructor.name}.registerModule`;
    this.checkName(where, name, 'module');
    if (m !== null && !(m instanceof Module)) typeError(`${where}('${name}')`, 'a Module or null', m);
    if (m === (this as Module)) throw new TypeError(`${where}('${name}'): a module cannot contain itself`);
    this._modules.set(name, m);
    this.defineAccessor(name, 'module');
    return m;
  }

  private checkName(where: string, name: string, kind: Kind): void {
    this.checkAlive(where);
    if (typeof name !== 'string' || !NAME.test(name)) typeError(where, 'a name without dots (an identifier or an integer)', name);
    const mine = kind === 'parameter' ? this._parameters : kind === 'buffer' ? this._buffers : this._modules;
    if (mine.has(name)) return; // re-registering replaces
    const other = (['parameter', 'buffer', 'module'] as Kind[]).find((k) => k !== kind && this.registry(k).has(name));
    if (other) throw new TypeError(`${where}: '${name}' is already registered as a ${other}`);
    // A subclass field declared without `declare` (`fc1!: Linear`) is an own property holding
    // undefined until registered: that one may be taken over.
    const placeholder = Object.prototype.hasOwnProperty.call(this, name) && (this as Record<string, unknown>)[name] === undefined;
    if (name in this && !placeholder) throw new TypeError(`${where}: attribute '${name}' already exists on ${this.constructor.name}`);
  }

  private registry(kind: Kind): Map<string, unknown> {
    return kind === 'parameter' ? this._parameters : kind === 'buffer' ? this._buffers : this._modules;
  }

  private adoptParameter(where: string, t: Tensor | null, requiresGrad: boolean): Tensor | null {
    if (t === null) return null;
    if (!(t instanceof Tensor)) typeError(where, 'a Tensor or null', t);
    if (!isFloating(t.dtype)) typeError(where, 'a floating-point tensor (parameters take gradients)', `${t.dtype} tensor`);
    if (!t.isLeaf) throw new TypeError(`${where}: expected a leaf tensor, but got the result of an operation (${t.gradFn}); pass t.detach()`);
    if (requiresGrad && !t.requiresGrad) t.requiresGrad_(true);
    return keep(t);
  }

  private defineAccessor(name: string, kind: Kind): void {
    const own = Object.getOwnPropertyDescriptor(this, name);
    if (own?.get) return;
    const map = this.registry(kind);
    Object.defineProperty(this, name, {
      configurable: true,
      enumerable: true,
      get: () => map.get(name),
      set: (value: unknown) => {
        if (kind === 'parameter') this._parameters.set(name, this.adoptParameter(`${this.constructor.name}.${name}`, value as Tensor | null, true));
        else if (kind === 'buffer') {
          if (value !== null && !(value instanceof Tensor)) typeError(`${this.constructor.name}.${name}`, 'a Tensor or null', value);
          if (value) keep(value);
          this._buffers.set(name, value as Tensor | null);
        } else {
          if (value !== null && !(value instanceof Module)) typeError(`${this.constructor.name}.${name}`, 'a Module or null', value);
          this._modules.set(name, value as Module | null);
        }
      },
    });
  }

  private checkAlive(where: string): void {
    if (this._disposed) throw new Error(`${where}: the module has been disposed`);
  }

  // ---- traversal -------------------------------------------------------------------------

  /** Direct submodules with their names (null entries skipped). */
  namedChildren(): [string, Module][] {
    return [...this._modules].filter((e): e is [string, Module] => e[1] !== null);
  }

  /** Direct submodules. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, each once, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.namedChildren()) walk(c, p ? `${p}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedTensors(kind: 'parameter' | 'buffer', prefix: string, recurse: boolean, dedupe: boolean, persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      const map = kind === 'parameter' ? m._parameters : m._buffers;
      for (const [n, t] of map) {
        if (t === null || (persistentOnly && m._nonPersistent.has(n))) continue;
        if (dedupe) {
          if (seen.has(t)) continue;
          seen.add(t);
        }
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with dotted names, each tensor once (tied weights appear under their first
   * name), in registration order, this module's before its submodules'.
   */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedTensors('parameter', prefix, recurse, true, false);
  }

  /** The parameters (for an optimizer). */
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }

  /** Buffers with dotted names (persistent or not), each tensor once. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.namedTensors('buffer', prefix, recurse, true, false);
  }

  /** The buffers. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }

  // ---- state dict ------------------------------------------------------------------------

  /** Every entry of the state dict with the module's own tensor, tied ones under each name. */
  private stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const walk = (m: Module, p: string): void => {
      for (const [n, t] of m._parameters) if (t !== null) out.push([p + n, t]);
      for (const [n, t] of m._buffers) if (t !== null && !m._nonPersistent.has(n)) out.push([p + n, t]);
      for (const [n, c] of m._modules) if (c !== null) walk(c, `${p}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Parameters and persistent buffers by dotted key, as PyTorch's `state_dict()` (same keys,
   * same order). The values are detached views sharing the module's storage: new handles,
   * so dispose them or call this inside `tn.tidy` (`keepVars: true` returns the module's
   * own tensors instead). Tied weights appear under each of their names.
   *
   * @example
   * tn.saveSafetensors('model.safetensors', tn.tidy(() => model.stateDict()));
   */
  stateDict(opts: StateDictOptions = {}): Record<string, Tensor> {
    this.checkAlive('stateDict');
    const prefix = opts.prefix ?? '';
    if (typeof prefix !== 'string') typeError('stateDict: prefix', 'a string', prefix);
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.stateEntries()) out[prefix + k] = opts.keepVars ? t : t.detach();
    return out;
  }

  /**
   * Copies a state dict into the module's existing tensors (in place, without recording
   * gradients; dtypes are converted as by `copy_`). Shapes must match. With `strict` (the
   * default) the keys must match exactly. Nothing is copied unless every check passes; the
   * error lists every problem, in PyTorch's wording.
   */
  loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadStateDictResult {
    this.checkAlive('loadStateDict');
    if (stateDict === null || typeof stateDict !== 'object') typeError('loadStateDict', 'a state dict ({ key: Tensor })', stateDict);
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') typeError('loadStateDict: strict', 'a boolean', strict);
    const given = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const expected = this.stateEntries();
    const expectedKeys = new Set(expected.map(([k]) => k));
    const missingKeys: string[] = [];
    const problems: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [key, target] of expected) {
      const src = given.get(key);
      if (src === undefined) {
        missingKeys.push(key);
        continue;
      }
      if (!(src instanceof Tensor)) {
        problems.push(`While copying the parameter named "${key}", expected a Tensor from the state dict, but got ${describe(src)}.`);
        continue;
      }
      const a = src.shape;
      const b = target.shape;
      if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
        problems.push(`size mismatch for ${key}: copying a param with shape [${a.join(', ')}] from checkpoint, the shape in current model is [${b.join(', ')}].`);
        continue;
      }
      copies.push([target, src]);
    }
    const unexpectedKeys = [...given.keys()].filter((k) => !expectedKeys.has(k));
    if (strict) {
      if (unexpectedKeys.length) problems.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (missingKeys.length) problems.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (problems.length) {
      throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [target, src] of copies) target.copy_(src);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- modes, devices, gradients -----------------------------------------------------------

  /** Sets training mode on this module and every descendant (dropout on/off). Returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') typeError('train: mode', 'a boolean', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Converts every parameter and buffer: `to('float64')` casts the floating ones (integer
   * buffers keep their dtype), `to('cuda')` moves all, `to({ dtype, device })` both.
   * Converted tensors replace the old ones, which are disposed (with their gradients): call
   * it before handing `parameters()` to an optimizer. Returns this.
   */
  to(target: DType | Device | { dtype?: DType; device?: Device }): this {
    this.checkAlive('to');
    let dtype: DType | undefined;
    let device: Device | undefined;
    if (typeof target === 'string') {
      if (isDType(target)) dtype = target;
      else if (/^(cpu|cuda(:\d+)?)$/.test(target)) device = target as Device;
      else typeError('Module.to', "a dtype ('float32', ...), a device ('cpu', 'cuda') or { dtype, device }", target);
    } else if (target !== null && typeof target === 'object') {
      if (target.dtype !== undefined && !isDType(target.dtype)) typeError('Module.to: dtype', 'a dtype', target.dtype);
      if (target.device !== undefined && !/^(cpu|cuda(:\d+)?)$/.test(String(target.device))) typeError('Module.to: device', "'cpu', 'cuda' or 'cuda:N'", target.device);
      dtype = target.dtype;
      device = target.device;
    } else {
      typeError('Module.to', 'a dtype, a device or { dtype, device }', target);
    }
    if (dtype !== undefined && !isFloating(dtype)) typeError('Module.to: dtype', 'a floating dtype', dtype);
    const converted = new Map<Tensor, Tensor>(); // tied tensors convert once
    const convert = (t: Tensor, isParam: boolean): Tensor => {
      const done = converted.get(t);
      if (done) return done;
      const d = dtype !== undefined && isFloating(t.dtype) && t.dtype !== dtype ? dtype : undefined;
      const dev = device !== undefined && normDevice(t.device) !== normDevice(device) ? device : undefined;
      if (d === undefined && dev === undefined) return t;
      const requiresGrad = isParam && t.requiresGrad;
      const n = noGrad(() => t.to({ dtype: d, device: dev }));
      if (requiresGrad) n.requiresGrad_(true);
      keep(n);
      converted.set(t, n);
      return n;
    };
    for (const m of this.modules()) {
      for (const [name, t] of m._parameters) if (t) m._parameters.set(name, convert(t, true));
      for (const [name, t] of m._buffers) if (t) m._buffers.set(name, convert(t, false));
    }
    for (const old of converted.keys()) old.dispose();
    return this;
  }

  /** Clears the gradients of every parameter (`setToNone`, the default), or zeroes them. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) {
        p.grad = null;
        continue;
      }
      const g = p.grad;
      if (g) {
        noGrad(() => g.zero_());
        g.dispose();
      }
    }
  }

  // ---- lifetime and printing -----------------------------------------------------------------

  /** Frees every parameter and buffer of this module and its descendants. Safe to call twice. */
  dispose(): void {
    if (this._disposed) return;
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) t?.dispose();
      for (const t of m._buffers.values()) t?.dispose();
      m._disposed = true;
    }
  }

  /** So that `using m = new Linear(...)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The module's settings for printing, e.g. 'in_features=4, out_features=2, bias=true'. */
  extraRepr(): string {
    return '';
  }

  /** Prints like PyTorch: the module, its settings and its submodules, indented. */
  toString(): string {
    const kids = this.namedChildren();
    const extra = this.extraRepr();
    if (!kids.length) return `${this.constructor.name}(${extra})`;
    const lines = [...(extra ? extra.split('\n') : []), ...kids.map(([n, m]) => `(${n}): ${m.toString().split('\n').join('\n  ')}`)];
    return `${this.constructor.name}(\n  ${lines.join('\n  ')}\n)`;
  }
}

function normDevice(d: string): string {
  return d === 'cuda' ? 'cuda:0' : d;
}
