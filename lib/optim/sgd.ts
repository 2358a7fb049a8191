/**
 * SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight
 * decay, as torch.optim.SGD (PyTorch 1.13 semantics, to the last bit):
 *
 *   g = ∇ (+ weightDecay · p)          (−∇ with maximize)
 *   b = g on the first step, else momentum · b + (1 − dampening) · g     (momentum ≠ 0)
 *   g = nesterov ? g + momentum · b : b
 *   p = p − lr · g
 *
 * State per parameter: `momentum_buffer` (only when momentum ≠ 0). One fused native call
 * updates all parameters of a group.
 *
 * @example
 * const opt = new tn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * opt.zeroGrad(); loss.backward(); opt.step();
 */
import { opId } from '../binding';
import { zerosLike } from '../creation';
import { checkBool, typeError } from '../errors';
import { keep } from '../memory';
import type { Tensor } from '../tensor';
import { checkHyper, Optimizer, withoutUndefined } from './optimizer';
import type { ParamGroup } from './optimizer';

/** Hyper-parameters of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate (default 1e-3, as PyTorch ≥ 2.2). */
  lr?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Maximise the objective instead (default false). */
  maximize?: boolean;
}

let OP: number | undefined;

/** Stochastic gradient descent; see the module documentation. */
export class SGD extends Optimizer<Required<SGDOptions>> {
  constructor(params: Iterable<Tensor> | Iterable<{ params: Iterable<Tensor> } & SGDOptions>, opts: SGDOptions = {}) {
    if (opts === null || typeof opts !== 'object') typeError('SGD', 'an options object', opts);
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...withoutUndefined(opts) });
  }

  protected checkOptions(where: string, o: Required<SGDOptions>): Required<SGDOptions> {
    const r = {
      lr: checkHyper(where, 'lr', o.lr),
      momentum: checkHyper(where, 'momentum', o.momentum),
      dampening: checkHyper(where, 'dampening', o.dampening, -Infinity),
      weightDecay: checkHyper(where, 'weightDecay', o.weightDecay),
      nesterov: checkBool(`${where}: nesterov`, o.nesterov),
      maximize: checkBool(`${where}: maximize`, o.maximize),
    };
    if (r.nesterov && (r.momentum <= 0 || r.dampening !== 0)) throw new RangeError(`${where}: Nesterov momentum requires a momentum and zero dampening`);
    return r;
  }

  protected toTorch(g: Required<SGDOptions>): Record<string, unknown> {
    return {
      lr: g.lr, momentum: g.momentum, dampening: g.dampening, weight_decay: g.weightDecay, nesterov: g.nesterov, maximize: g.maximize,
      foreach: null, differentiable: false,
    };
  }

  protected fromTorch(_where: string, g: Record<string, unknown>): Required<SGDOptions> {
    return {
      lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weight_decay, nesterov: g.nesterov, maximize: g.maximize ?? false,
    } as Required<SGDOptions>;
  }

  protected prepareGroup(g: ParamGroup<Required<SGDOptions>>, params: Tensor[], grads: Tensor[]): [number, ...unknown[]] {
    const bufs: number[] = [];
    const first: number[] = [];
    if (g.momentum !== 0) {
      for (const p of params) {
        // A new buffer is written with the gradient by the first step (PyTorch's clone).
        const s = this.stateOf(p, () => ({}));
        const fresh = !s.momentum_buffer;
        if (fresh) s.momentum_buffer = keep(zerosLike(p));
        bufs.push((s.momentum_buffer as Tensor).id);
        first.push(fresh ? 1 : 0);
      }
    }
    OP ??= opId('sgdStep');
    return [OP, params.map((p) => p.id), grads.map((t) => t.id), bufs, first, g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, g.maximize];
  }
}
