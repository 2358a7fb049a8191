/**
 * SinusoidalPositionalEncoding: the fixed encodings of Vaswani et al., added to the input.
 *
 *   pe[pos, 2i] = sin(pos / 10000^(2i/E)),   pe[pos, 2i+1] = cos(pos / 10000^(2i/E))
 *   y = dropout(x + pe[offset : offset + L])
 *
 * Shapes: x (*, L, E) (positions along the second-to-last dimension: (N, L, E) or (L, E))
 * → same. The table (maxLen, E) is a non-persistent buffer: nothing in the state dict.
 *
 * @example
 * const pos = new tn.nn.SinusoidalPositionalEncoding({ dModel: 256, maxLen: 1024 });
 * const y = pos.forward(tokEmb.forward(ids));              // (N, L, 256)
 * const step = pos.forward(x1, { offset: 17 });            // decoding position 17
 */
import { noGrad } from '../autograd';
import { arange } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { cat } from '../ops/shape';
import { Tensor } from '../tensor';
import { dropout } from './functional';
import { Module } from './module';

/** Options of {@link SinusoidalPositionalEncoding}. */
export interface SinusoidalPositionalEncodingOptions {
  /** Model dimension E (even). */
  dModel: number;
  /** Longest sequence (default 5000). */
  maxLen?: number;
  /** Dropout after the addition, in training mode (default 0). */
  dropout?: number;
  /** The 10000 of the formula (default 10000). */
  base?: number;
  /** Table dtype (default float32). */
  dtype?: DType;
  /** Table device (default 'cpu'). */
  device?: Device;
}

/** Checks an `offset` option and that positions [offset, offset + length) fit in maxLen. */
export function positionRange(where: string, offset: unknown, length: number, maxLen: number): number {
  const o = checkInt(`${where}: offset`, offset ?? 0, 0);
  if (o + length > maxLen) throw new RangeError(`${where}: positions ${o}..${o + length - 1} exceed maxLen ${maxLen}`);
  return o;
}

/** Fixed sinusoidal encodings; see the module documentation. */
export class SinusoidalPositionalEncoding extends Module {
  /** (maxLen, dModel), non-persistent. */
  declare pe: Tensor;
  readonly dModel: number;
  readonly maxLen: number;
  readonly p: number;

  constructor(opts: SinusoidalPositionalEncodingOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('SinusoidalPositionalEncoding', 'options { dModel, maxLen }', opts);
    this.dModel = checkInt('SinusoidalPositionalEncoding: dModel', opts.dModel, 2);
    if (this.dModel % 2 !== 0) throw new RangeError(`SinusoidalPositionalEncoding: dModel must be even, but got ${this.dModel}`);
    this.maxLen = checkInt('SinusoidalPositionalEncoding: maxLen', opts.maxLen ?? 5000, 1);
    this.p = checkNumber('SinusoidalPositionalEncoding: dropout', opts.dropout ?? 0);
    const base = checkNumber('SinusoidalPositionalEncoding: base', opts.base ?? 10000);
    const E = this.dModel;
    const pe = noGrad(() =>
      tidy(() => {
        const pos = arange(0, this.maxLen, 1, { dtype: 'float64' }).unsqueeze(1); // (maxLen, 1)
        const invFreq = arange(0, E, 2, { dtype: 'float64' }).mul(-Math.log(base) / E).exp(); // (E/2)
        const angle = pos.mul(invFreq.unsqueeze(0)); // (maxLen, E/2)
        // interleave: column 2i = sin, 2i+1 = cos
        return cat([angle.sin().unsqueeze(2), angle.cos().unsqueeze(2)], 2).reshape(this.maxLen, E).to({ dtype: opts.dtype ?? 'float32', device: opts.device });
      }),
    );
    this.registerBuffer('pe', pe, false);
  }

  /** y = dropout(x + pe[offset : offset + L]). */
  forward(x: Tensor, opts: { offset?: number } = {}): Tensor {
    if (!(x instanceof Tensor)) typeError('SinusoidalPositionalEncoding.forward', 'a Tensor', x);
    const s = x.shape;
    if (s.length < 2 || s[s.length - 1] !== this.dModel) throw new RangeError(`SinusoidalPositionalEncoding.forward: expected an input of shape (*, L, ${this.dModel}), but got (${s.join(', ')})`);
    const L = s[s.length - 2];
    const o = positionRange('SinusoidalPositionalEncoding.forward', opts.offset, L, this.maxLen);
    return tidy(() => dropout(x.add(this.pe.narrow(0, o, L)), this.p, this.training));
  }

  override extraRepr(): string {
    return `d_model=${this.dModel}, max_len=${this.maxLen}`;
  }
}
