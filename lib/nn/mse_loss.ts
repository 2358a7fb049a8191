/**
 * MSELoss: mean squared error, as torch.nn.MSELoss.
 *
 *   ℓ_i = (x_i − y_i)²,  reduced by 'mean' (default), 'sum' or 'none'
 *
 * Shapes: input and target of the same (or broadcastable) shape → a scalar, or the
 * elementwise losses with 'none'. No parameters.
 *
 * @example
 * const loss = new tn.nn.MSELoss().forward(pred, target);
 */
import type { Tensor } from '../tensor';
import { mseLoss } from './functional';
import type { Reduction } from './functional';
import { reductionArg } from './cross_entropy_loss';
import { Module } from './module';

/** Options of {@link MSELoss}. */
export interface MSELossOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** Mean squared error; see the module documentation. */
export class MSELoss extends Module {
  readonly reduction: Reduction;

  constructor(opts: MSELossOptions = {}) {
    super();
    this.reduction = reductionArg('MSELoss: reduction', opts.reduction ?? 'mean');
  }

  /** The loss of `input` against `target`. */
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.reduction);
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}
