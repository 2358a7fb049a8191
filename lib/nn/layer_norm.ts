/**
 * LayerNorm: normalises over the trailing dimensions, as torch.nn.LayerNorm.
 *
 *   y = (x - E[x]) / √(Var[x] + eps) · weight + bias
 *
 * with the mean and the biased variance taken over the last `normalizedShape.length`
 * dimensions. Shapes: x (*, ...normalizedShape) → y of the same shape; weight and bias
 * (normalizedShape), initialised to ones and zeros; absent with `elementwiseAffine: false`.
 * State-dict keys: `weight`, `bias`.
 *
 * @example
 * const ln = new tn.nn.LayerNorm([512]);
 * const y = ln.forward(tn.randn([8, 16, 512]));   // (8, 16, 512)
 */
import { ones, zeros } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkNumber, typeError, isInt } from '../errors';
import { Tensor } from '../tensor';
import { layerNorm } from './functional';
import { Module } from './module';

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn `weight` and `bias` (default true). */
  elementwiseAffine?: boolean;
  /** Learn `bias` when `elementwiseAffine` (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** Checks a normalised shape given as an integer or integers >= 1. */
export function normalizedShapeArg(where: string, s: unknown): number[] {
  const shape = isInt(s) ? [s] : s;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => isInt(d) && d >= 1)) typeError(where, 'a positive integer or a non-empty array of positive integers', s);
  return [...(shape as number[])];
}

/** Layer normalisation; see the module documentation. */
export class LayerNorm extends Module {
  /** (normalizedShape), or null without affine parameters. */
  declare weight: Tensor | null;
  /** (normalizedShape), or null. */
  declare bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeArg('LayerNorm: normalizedShape', normalizedShape);
    this.eps = checkNumber('LayerNorm: eps', opts.eps ?? 1e-5);
    this.elementwiseAffine = checkBool('LayerNorm: elementwiseAffine', opts.elementwiseAffine ?? true);
    const bias = checkBool('LayerNorm: bias', opts.bias ?? true);
    const o = { dtype: opts.dtype, device: opts.device };
    this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, o) : null);
    this.registerParameter('bias', this.elementwiseAffine && bias ? zeros(this.normalizedShape, o) : null);
  }

  /** y = (x - E[x]) / √(Var[x] + eps) · weight + bias. */
  forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${this.eps}, elementwise_affine=${this.elementwiseAffine}`;
  }
}
