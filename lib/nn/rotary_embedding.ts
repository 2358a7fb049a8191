/**
 * RotaryEmbedding (RoPE, Su et al.): rotates pairs of query/key features by an angle
 * proportional to the position, so that q·k depends on positions only through their
 * difference. The "rotate-half" layout of GPT-NeoX and LLaMA (Hugging Face):
 *
 *   θ_i = base^(−2i/D),  i < D/2;   cos, sin at position m of [mθ_0 … mθ_{D/2−1}, mθ_0 … mθ_{D/2−1}]
 *   rope(x)_m = x_m · cos_m + rotateHalf(x_m) · sin_m,   rotateHalf([a, b]) = [−b, a]
 *
 * With `dim` smaller than the head size only the first `dim` features rotate (partial
 * rotary, GPT-NeoX); the rest pass through. Shapes: x (*, L, headDim) with positions along
 * the second-to-last dimension, e.g. q (N, H, L, d) → same. The cos/sin tables (maxLen, dim)
 * are float64 non-persistent buffers, cast to the input's dtype at use: no state-dict keys.
 *
 * @example
 * const rope = new tn.nn.RotaryEmbedding({ dim: 64, maxLen: 4096 });
 * const [qr, kr] = [rope.forward(q), rope.forward(k)];       // q, k: (N, H, L, 64)
 * const qStep = rope.forward(q1, { offset: cache.length });  // decoding
 */
import { noGrad } from '../autograd';
import { arange } from '../creation';
import type { Device } from '../creation';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { cat } from '../ops/shape';
import { Tensor } from '../tensor';
import { Module } from './module';
import { positionRange } from './sinusoidal_positional_encoding';

/** Options of {@link RotaryEmbedding}. */
export interface RotaryEmbeddingOptions {
  /** Number of rotated features D (even, ≤ the head size). */
  dim: number;
  /** Longest sequence (default 2048). */
  maxLen?: number;
  /** Base of the frequencies (default 10000). */
  base?: number;
  /** Table device (default 'cpu'). */
  device?: Device;
}

/** Rotary position embedding; see the module documentation. */
export class RotaryEmbedding extends Module {
  /** (maxLen, dim) float64, non-persistent. */
  declare cos: Tensor;
  /** (maxLen, dim) float64, non-persistent. */
  declare sin: Tensor;
  readonly dim: number;
  readonly maxLen: number;
  readonly base: number;

  constructor(opts: RotaryEmbeddingOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('RotaryEmbedding', 'options { dim, maxLen, base }', opts);
    this.dim = checkInt('RotaryEmbedding: dim', opts.dim, 2);
    if (this.dim % 2 !== 0) throw new RangeError(`RotaryEmbedding: dim must be even, but got ${this.dim}`);
    this.maxLen = checkInt('RotaryEmbedding: maxLen', opts.maxLen ?? 2048, 1);
    this.base = checkNumber('RotaryEmbedding: base', opts.base ?? 10000);
    const [c, s] = noGrad(() =>
      tidy(() => {
        const invFreq = arange(0, this.dim, 2, { dtype: 'float64' }).div(this.dim).mul(Math.log(this.base)).neg().exp(); // base^(-2i/D)
        const freqs = arange(0, this.maxLen, 1, { dtype: 'float64' }).unsqueeze(1).mul(invFreq.unsqueeze(0)); // (maxLen, D/2)
        const emb = cat([freqs, freqs], 1);
        return [emb.cos().to({ device: opts.device ?? 'cpu' }), emb.sin().to({ device: opts.device ?? 'cpu' })];
      }),
    );
    this.registerBuffer('cos', c, false);
    this.registerBuffer('sin', s, false);
  }

  /** Rotates the first `dim` features of x (*, L, headDim) for positions offset … offset + L − 1. */
  forward(x: Tensor, opts: { offset?: number } = {}): Tensor {
    if (!(x instanceof Tensor)) typeError('RotaryEmbedding.forward', 'a Tensor', x);
    const s = x.shape;
    if (s.length < 2 || s[s.length - 1] < this.dim)
      throw new RangeError(`RotaryEmbedding.forward: expected an input of shape (*, L, >= ${this.dim}), but got (${s.join(', ')})`);
    const L = s[s.length - 2];
    const o = positionRange('RotaryEmbedding.forward', opts.offset, L, this.maxLen);
    const D = this.dim;
    return tidy(() => {
      const cos = this.cos.narrow(0, o, L).to(x.dtype);
      const sin = this.sin.narrow(0, o, L).to(x.dtype);
      const head = s[s.length - 1];
      const xr = head === D ? x : x.narrow(-1, 0, D);
      const x1 = xr.narrow(-1, 0, D / 2);
      const x2 = xr.narrow(-1, D / 2, D / 2);
      const rotated = xr.mul(cos).add(cat([x2.neg(), x1], -1).mul(sin));
      return head === D ? rotated : cat([rotated, x.narrow(-1, D, head - D)], -1);
    });
  }

  override extraRepr(): string {
    return `dim=${this.dim}, max_len=${this.maxLen}, base=${this.base}`;
  }
}
