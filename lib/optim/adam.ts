/**
 * Adam, as torch.optim.Adam (PyTorch 1.13 semantics, to the last bit), with L2 weight decay
 * added to the gradient and the AMSGrad variant:
 *
 *   t = t + 1;   g = ∇ (+ weightDecay · p)          (−∇ with maximize)
 *   m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²;   v̂ = amsgrad ? (vmax = max(vmax, v)) : v
 *   p = p − lr / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
 *
 * State per parameter: `step`, `exp_avg` (m), `exp_avg_sq` (v), and `max_exp_avg_sq` with
 * amsgrad. One fused native call updates all parameters of a group.
 *
 * @example
 * const opt = new tn.optim.Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.98] });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
import { opId } from '../binding';
import { zerosLike } from '../creation';
import { checkBool, typeError } from '../errors';
import { keep } from '../memory';
import type { Tensor } from '../tensor';
import { checkHyper, Optimizer, withoutUndefined } from './optimizer';
import type { ParamGroup } from './optimizer';

/** Hyper-parameters of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
  /** The AMSGrad variant (default false). */
  amsgrad?: boolean;
  /** Maximise the objective instead (default false). */
  maximize?: boolean;
}

let OP: number | undefined;

/** Adam; see the module documentation. */
export class Adam extends Optimizer<Required<AdamOptions>> {
  /** AdamW decays the parameters instead of adding the decay to the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: Iterable<Tensor> | Iterable<{ params: Iterable<Tensor> } & AdamOptions>, opts: AdamOptions = {}) {
    if (opts === null || typeof opts !== 'object') typeError(new.target.name, 'an options object', opts);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: new.target === Adam ? 0 : 1e-2, amsgrad: false, maximize: false, ...withoutUndefined(opts) });
  }

  protected checkOptions(where: string, o: Required<AdamOptions>): Required<AdamOptions> {
    if (!Array.isArray(o.betas) || o.betas.length !== 2) typeError(`${where}: betas`, 'two numbers [beta1, beta2]', o.betas);
    return {
      lr: checkHyper(where, 'lr', o.lr),
      betas: [checkHyper(where, 'betas[0]', o.betas[0], 0, 1, false), checkHyper(where, 'betas[1]', o.betas[1], 0, 1, false)],
      eps: checkHyper(where, 'eps', o.eps),
      weightDecay: checkHyper(where, 'weightDecay', o.weightDecay),
      amsgrad: checkBool(`${where}: amsgrad`, o.amsgrad),
      maximize: checkBool(`${where}: maximize`, o.maximize),
    };
  }

  protected toTorch(g: Required<AdamOptions>): Record<string, unknown> {
    const common = { lr: g.lr, betas: [...g.betas], eps: g.eps, weight_decay: g.weightDecay, amsgrad: g.amsgrad, maximize: g.maximize, foreach: null, capturable: false };
    return this.decoupled ? common : { ...common, differentiable: false, fused: false };
  }

  protected fromTorch(_where: string, g: Record<string, unknown>): Required<AdamOptions> {
    const b = g.betas as number[];
    return {
      lr: g.lr, betas: Array.isArray(b) ? [b[0], b[1]] : b, eps: g.eps, weightDecay: g.weight_decay, amsgrad: g.amsgrad, maximize: g.maximize ?? false,
    } as Required<AdamOptions>;
  }

  protected prepareGroup(g: ParamGroup<Required<AdamOptions>>, params: Tensor[], grads: Tensor[]): [number, ...unknown[]] {
    const m: number[] = [];
    const v: number[] = [];
    const vmax: number[] = [];
    const steps: number[] = [];
    for (const p of params) {
      const s = this.stateOf(p, () => ({ step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) }));
      if (g.amsgrad && !s.max_exp_avg_sq) s.max_exp_avg_sq = keep(zerosLike(p));
      s.step = (s.step as number) + 1;
      m.push((s.exp_avg as Tensor).id);
      v.push((s.exp_avg_sq as Tensor).id);
      if (g.amsgrad) vmax.push((s.max_exp_avg_sq as Tensor).id);
      steps.push(s.step);
    }
    OP ??= opId('adamStep');
    return [
      OP, params.map((p) => p.id), grads.map((t) => t.id), m, v, vmax, steps,
      g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, g.amsgrad, g.maximize, this.decoupled,
    ];
  }
}
