/**
 * SiLU (swish) activation, as torch.nn.SiLU.
 *
 *   y = x · σ(x) = x / (1 + e^(-x))
 *
 * Shapes: any → same. No parameters.
 *
 * @example
 * const y = new tn.nn.SiLU().forward(tn.randn([4, 8]));
 */
import { silu } from '../ops/elementwise';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** SiLU; see the module documentation. */
export class SiLU extends Module {
  /** y = x · σ(x). */
  forward(input: Tensor): Tensor {
    return silu(input);
  }
}
