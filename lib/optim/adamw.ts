/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW
 * (PyTorch 1.13 semantics, to the last bit):
 *
 *   p = p · (1 − lr · weightDecay), then the Adam update without the decay term in g.
 *
 * Defaults as PyTorch: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.01. State and
 * state-dict layout as {@link Adam} (param_groups without `differentiable` and `fused`, as
 * 1.13's AdamW).
 *
 * @example
 * const opt = new tn.optim.AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
 */
import { Adam } from './adam';

/** AdamW; see the module documentation. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
}
