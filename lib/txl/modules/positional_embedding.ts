/**
 * PositionalEmbedding (Transformer-XL): sinusoids of relative distances,
 * cat[sin(pos·inv_freq), cos(pos·inv_freq)], inv_freq = 1/10000^(2i/d) kept as the buffer
 * `inv_freq` as upstream. forward(posSeq (L)) → (L, 1, d).
 */
import { arange } from '../../creation';
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { checkInt } from '../../errors';
import { Module } from '../../nn/module';
import { cat } from '../../ops/shape';
import type { Tensor } from '../../tensor';

/** Sinusoidal embedding of distances; see the module documentation. */
export class PositionalEmbedding extends Module {
  declare inv_freq: Tensor;
  constructor(readonly demb: number, o: { dtype?: DType; device?: Device } = {}) {
    super();
    checkInt('PositionalEmbedding: demb', demb, 2);
    // 1 / 10000^(i/d) for even i, computed in float32 like upstream's buffer.
    const base = arange(0, demb, 2, { dtype: 'float32' }).div(demb);
    const invFreq = base.mul(Math.log(10000)).neg().exp();
    base.dispose();
    this.registerBuffer('inv_freq', o.dtype && o.dtype !== 'float32' ? invFreq.to(o.dtype) : invFreq);
  }

  /** (L) distances → (L, 1, demb). */
  forward(posSeq: Tensor): Tensor {
    const x = posSeq.view(-1, 1).mul(this.inv_freq.view(1, -1));
    return cat([x.sin(), x.cos()], -1).unsqueeze(1);
  }
}
