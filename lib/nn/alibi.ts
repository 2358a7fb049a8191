/**
 * ALiBi (Press et al., "Train Short, Test Long"): a per-head linear penalty on the
 * query–key distance instead of position embeddings. `alibiSlopes(H)` gives the paper's
 * head slopes (and its reference code's rule when H is not a power of two); pass them to
 * `scaledDotProductAttention(q, k, v, { alibiSlopes })`, whose fused kernel adds
 * −slope_h · |i − j| to the scores without materialising the bias.
 *
 *   H a power of 2:  slope_h = 2^(−8h/H),  h = 1 … H
 *   otherwise:       the slopes for the largest power of two n < H, then every other slope
 *                    of 2n: slopes(2n)[0::2][: H − n]
 *
 * Shape: (H) float32 (or `dtype`).
 *
 * @example
 * const slopes = tn.nn.alibiSlopes(8);   // [1/2, 1/4, …, 1/256]
 * const out = tn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true, alibiSlopes: slopes });
 */
import { tensor } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt } from '../errors';
import type { Tensor } from '../tensor';

function powerOfTwoSlopes(n: number): number[] {
  const start = 2 ** (-(2 ** -(Math.log2(n) - 3)));
  return Array.from({ length: n }, (_, i) => start * start ** i);
}

/** The ALiBi slopes as numbers; see the module documentation. */
export function alibiSlopeValues(numHeads: number): number[] {
  const H = checkInt('alibiSlopes: numHeads', numHeads, 1);
  if (Number.isInteger(Math.log2(H))) return powerOfTwoSlopes(H);
  const n = 2 ** Math.floor(Math.log2(H));
  return [...powerOfTwoSlopes(n), ...powerOfTwoSlopes(2 * n).filter((_, i) => i % 2 === 0).slice(0, H - n)];
}

/** The ALiBi slopes of `numHeads` heads as a (numHeads) tensor; see the module documentation. */
export function alibiSlopes(numHeads: number, opts: { dtype?: DType; device?: Device } = {}): Tensor {
  return tensor(alibiSlopeValues(numHeads), { dtype: opts.dtype ?? 'float32', device: opts.device });
}
