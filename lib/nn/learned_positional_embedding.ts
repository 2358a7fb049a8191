/**
 * LearnedPositionalEmbedding: a trained vector per position, added to the input (GPT-2,
 * BERT, ViT).
 *
 *   y = x + weight[offset : offset + L]
 *
 * Shapes: x (*, L, E) → same; weight (maxLen, E), initialised N(0, std²) (default std 0.02,
 * as GPT-2). State-dict key: `weight` (as an nn.Embedding used for positions).
 *
 * @example
 * const pos = new tn.nn.LearnedPositionalEmbedding(1024, 256);
 * const h = pos.forward(tokEmb.forward(ids));   // (N, L, 256)
 */
import { noGrad } from '../autograd';
import { randn } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Module } from './module';
import { positionRange } from './sinusoidal_positional_encoding';

/** Options of {@link LearnedPositionalEmbedding}. */
export interface LearnedPositionalEmbeddingOptions {
  /** Standard deviation of the initial values (default 0.02). */
  std?: number;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** Learned absolute positions; see the module documentation. */
export class LearnedPositionalEmbedding extends Module {
  /** (maxLen, embeddingDim). */
  declare weight: Tensor;
  readonly maxLen: number;
  readonly embeddingDim: number;

  constructor(maxLen: number, embeddingDim: number, opts: LearnedPositionalEmbeddingOptions = {}) {
    super();
    this.maxLen = checkInt('LearnedPositionalEmbedding: maxLen', maxLen, 1);
    this.embeddingDim = checkInt('LearnedPositionalEmbedding: embeddingDim', embeddingDim, 1);
    const std = checkNumber('LearnedPositionalEmbedding: std', opts.std ?? 0.02);
    this.registerParameter('weight', noGrad(() => tidy(() => randn([maxLen, embeddingDim], { dtype: opts.dtype, device: opts.device }).mul(std))));
  }

  /** y = x + weight[offset : offset + L]. */
  forward(x: Tensor, opts: { offset?: number } = {}): Tensor {
    if (!(x instanceof Tensor)) typeError('LearnedPositionalEmbedding.forward', 'a Tensor', x);
    const s = x.shape;
    if (s.length < 2 || s[s.length - 1] !== this.embeddingDim)
      throw new RangeError(`LearnedPositionalEmbedding.forward: expected an input of shape (*, L, ${this.embeddingDim}), but got (${s.join(', ')})`);
    const L = s[s.length - 2];
    const o = positionRange('LearnedPositionalEmbedding.forward', opts.offset, L, this.maxLen);
    const rows = this.weight.narrow(0, o, L);
    try {
      return x.add(rows);
    } finally {
      rows.dispose();
    }
  }

  override extraRepr(): string {
    return `${this.maxLen}, ${this.embeddingDim}`;
  }
}
