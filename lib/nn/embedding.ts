/**
 * Embedding: a lookup table of vectors, as torch.nn.Embedding.
 *
 *   y[..., :] = weight[indices[...], :]
 *
 * Shapes: indices int64 (*) → y (*, embeddingDim); weight (numEmbeddings, embeddingDim),
 * initialised N(0, 1). With `paddingIdx` that row is initialised to zeros and receives no
 * gradient (it stays as it is during training). State-dict key: `weight`.
 *
 * @example
 * const emb = new tn.nn.Embedding(1000, 64, { paddingIdx: 0 });
 * const y = emb.forward(tn.tensor([[1, 5, 0]], { dtype: 'int64' }));   // (1, 3, 64)
 */
import { noGrad } from '../autograd';
import { randn } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt } from '../errors';
import { Tensor } from '../tensor';
import { embedding } from './functional';
import { Module } from './module';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** A row that is zero-initialised and gets no gradient (negative counts from the end). */
  paddingIdx?: number | null;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** A lookup table; see the module documentation. */
export class Embedding extends Module {
  /** (numEmbeddings, embeddingDim). */
  declare weight: Tensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row, normalised to [0, numEmbeddings), or null. */
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkInt('Embedding: numEmbeddings', numEmbeddings, 1);
    this.embeddingDim = checkInt('Embedding: embeddingDim', embeddingDim, 0);
    let pad: number | null = null;
    if (opts.paddingIdx != null) {
      pad = checkInt('Embedding: paddingIdx', opts.paddingIdx, -numEmbeddings, numEmbeddings - 1);
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = noGrad(() => {
      const t = randn([numEmbeddings, embeddingDim], { dtype: opts.dtype, device: opts.device });
      if (pad !== null) {
        const row = t.select(0, pad);
        row.zero_();
        row.dispose();
      }
      return t;
    });
    this.registerParameter('weight', w);
  }

  /** Rows of `weight` picked by `indices`. */
  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
