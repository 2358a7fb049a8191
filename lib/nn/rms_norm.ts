/**
 * RMSNorm: root-mean-square normalisation over the trailing dimensions, as torch.nn.RMSNorm
 * (PyTorch ≥ 2.4; Zhang & Sennrich 2019).
 *
 *   y = x / √(mean(x², trailing dims) + eps) · weight
 *
 * computed with libtorch ops (x · rsqrt(mean(x²) + eps) · weight, as PyTorch). Without
 * `eps` the machine epsilon of the input's dtype is used, as PyTorch. Shapes: x
 * (*, ...normalizedShape) → y of the same shape; weight (normalizedShape), initialised to
 * ones; absent with `elementwiseAffine: false`. State-dict key: `weight`.
 *
 * @example
 * const norm = new tn.nn.RMSNorm([512], { eps: 1e-6 });
 * const y = norm.forward(tn.randn([8, 16, 512]));   // (8, 16, 512)
 */
import { ones } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { normalizedShapeArg } from './layer_norm';
import { Module } from './module';

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions {
  /** Added to the mean square (default: the machine epsilon of the input's dtype). */
  eps?: number | null;
  /** Learn `weight` (default true). */
  elementwiseAffine?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

const MACHINE_EPS: Partial<Record<DType, number>> = { float64: 2 ** -52, float32: 2 ** -23, float16: 2 ** -10, bfloat16: 2 ** -7 };

/** RMS normalisation; see the module documentation. */
export class RMSNorm extends Module {
  /** (normalizedShape), or null without affine parameters. */
  declare weight: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeArg('RMSNorm: normalizedShape', normalizedShape);
    this.eps = opts.eps == null ? null : checkNumber('RMSNorm: eps', opts.eps);
    this.elementwiseAffine = checkBool('RMSNorm: elementwiseAffine', opts.elementwiseAffine ?? true);
    this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, { dtype: opts.dtype, device: opts.device }) : null);
  }

  /** y = x · rsqrt(mean(x²) + eps) · weight. */
  forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) typeError('RMSNorm.forward', 'a Tensor', input);
    const n = this.normalizedShape.length;
    const shape = input.shape;
    const tail = shape.slice(shape.length - n);
    if (shape.length < n || tail.some((d, i) => d !== this.normalizedShape[i]))
      throw new RangeError(`RMSNorm.forward: expected an input of shape (*, ${this.normalizedShape.join(', ')}), but got (${shape.join(', ')})`);
    const eps = this.eps ?? MACHINE_EPS[input.dtype] ?? 2 ** -23;
    const dims = this.normalizedShape.map((_, i) => i - n);
    return tidy(() => {
      const y = input.mul(input.pow(2).mean(dims, true).add(eps).rsqrt());
      return this.weight ? y.mul(this.weight) : y;
    });
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${this.eps ?? 'None'}, elementwise_affine=${this.elementwiseAffine}`;
  }
}
