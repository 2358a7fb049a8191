/**
 * ReLU activation, as torch.nn.ReLU.
 *
 *   y = max(x, 0)
 *
 * Shapes: any → same. No parameters.
 *
 * @example
 * const y = new tn.nn.ReLU().forward(tn.randn([4, 8]));
 */
import { relu } from '../ops/elementwise';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** ReLU; see the module documentation. */
export class ReLU extends Module {
  /** y = max(x, 0). */
  forward(input: Tensor): Tensor {
    return relu(input);
  }
}
