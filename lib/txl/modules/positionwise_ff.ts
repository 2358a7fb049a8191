/**
 * PositionwiseFF (Transformer-XL): CoreNet = Linear(d, dInner) → ReLU → Dropout → Linear(dInner, d)
 * → Dropout, with a residual and LayerNorm: post-norm LN(x + CoreNet(x)), or with preLnorm
 * x + CoreNet(LN(x)). Keys `CoreNet.0.*`, `CoreNet.3.*`, `layer_norm.*` as upstream.
 */
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { Dropout } from '../../nn/dropout';
import { LayerNorm } from '../../nn/layer_norm';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { ReLU } from '../../nn/relu';
import { Sequential } from '../../nn/sequential';
import type { Tensor } from '../../tensor';

/** The position-wise feed-forward block; see the module documentation. */
export class PositionwiseFF extends Module {
  declare CoreNet: Sequential;
  declare layer_norm: LayerNorm;
  constructor(dModel: number, dInner: number, dropout: number, readonly preLnorm = false, o: { dtype?: DType; device?: Device } = {}) {
    super();
    this.registerModule('CoreNet', new Sequential(new Linear(dModel, dInner, o), new ReLU(), new Dropout(dropout), new Linear(dInner, dModel, o), new Dropout(dropout)));
    this.registerModule('layer_norm', new LayerNorm(dModel, o));
  }

  forward(x: Tensor): Tensor {
    if (this.preLnorm) return x.add(this.CoreNet.forward(this.layer_norm.forward(x)));
    return this.layer_norm.forward(x.add(this.CoreNet.forward(x)));
  }
}
