/**
 * Seq2SeqTransformer: the encoder–decoder Transformer of Vaswani et al. for sequence-to-
 * sequence tasks (translation, copying, summarising), as in PyTorch's translation tutorial:
 *
 *   memory = encoder(pe(src_tok_emb(src) · √d));   y = decoder(pe(tgt_tok_emb(tgt) · √d), memory)
 *   logits = generator(y)        (target self-attention causal; padding masks optional)
 *
 * Built on tn.nn.Transformer (batch first), so `transformer.*` keys are torch.nn.Transformer's;
 * the others are `src_tok_emb.weight`, `tgt_tok_emb.weight`, `generator.*`. Token ids are int64
 * (N, S) / (N, T); logits (N, T, tgtVocabSize).
 *
 * @example
 * const model = new tn.models.Seq2SeqTransformer({ srcVocabSize: 100, tgtVocabSize: 100, dModel: 128, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2 });
 * const logits = model.forward(src, tgtIn);                         // teacher forcing
 * const out = model.greedyDecode(src, { bosId: 1, eosId: 2, maxLength: 20 });
 */
import { noGrad } from '../autograd';
import { cat } from '../ops/shape';
import { full, tensor } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt, typeError } from '../errors';
import { tidy } from '../memory';
import { Embedding } from '../nn/embedding';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { SinusoidalPositionalEncoding } from '../nn/sinusoidal_positional_encoding';
import { Transformer } from '../nn/transformer';
import { Tensor } from '../tensor';

/** Options of {@link Seq2SeqTransformer}. */
export interface Seq2SeqOptions {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** Default 512. */
  dModel?: number;
  /** Default 8. */
  nhead?: number;
  /** Default 3. */
  numEncoderLayers?: number;
  /** Default 3. */
  numDecoderLayers?: number;
  /** Default 4·dModel. */
  dimFeedforward?: number;
  /** Default 0.1 (training only). */
  dropout?: number;
  /** Longest sequence (default 512). */
  maxLen?: number;
  dtype?: DType;
  device?: Device;
}

/** Options of {@link Seq2SeqTransformer.forward}. */
export interface Seq2SeqForwardOptions {
  /** (N, S) bool, true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** (N, T) bool, true = padding. */
  tgtKeyPaddingMask?: Tensor | null;
}

/** An encoder–decoder Transformer with embeddings and a generator; see the module documentation. */
export class Seq2SeqTransformer extends Module {
  declare transformer: Transformer;
  declare generator: Linear;
  declare src_tok_emb: Embedding;
  declare tgt_tok_emb: Embedding;
  declare positional_encoding: SinusoidalPositionalEncoding;
  readonly dModel: number;

  constructor(opts: Seq2SeqOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('Seq2SeqTransformer', 'options { srcVocabSize, tgtVocabSize, ... }', opts);
    const d = checkInt('Seq2SeqTransformer: dModel', opts.dModel ?? 512, 2);
    this.dModel = d;
    const o = { dtype: opts.dtype, device: opts.device };
    this.registerModule('transformer', new Transformer({
      dModel: d, nhead: opts.nhead ?? 8, numEncoderLayers: opts.numEncoderLayers ?? 3, numDecoderLayers: opts.numDecoderLayers ?? 3,
      dimFeedforward: opts.dimFeedforward ?? 4 * d, dropout: opts.dropout ?? 0.1, batchFirst: true, ...o,
    }));
    this.registerModule('generator', new Linear(d, checkInt('Seq2SeqTransformer: tgtVocabSize', opts.tgtVocabSize, 1), o));
    this.registerModule('src_tok_emb', new Embedding(checkInt('Seq2SeqTransformer: srcVocabSize', opts.srcVocabSize, 1), d, o));
    this.registerModule('tgt_tok_emb', new Embedding(opts.tgtVocabSize, d, o));
    this.registerModule('positional_encoding', new SinusoidalPositionalEncoding({ dModel: d, maxLen: opts.maxLen ?? 512, dropout: opts.dropout ?? 0.1, ...o }));
  }

  private static ids(where: string, t: Tensor): void {
    if (!(t instanceof Tensor) || t.ndim !== 2 || t.dtype !== 'int64') {
      throw new TypeError(`Seq2SeqTransformer.${where}: expected int64 token ids (N, L), but got ${t instanceof Tensor ? `${t.dtype} [${t.shape.join(', ')}]` : typeof t}`);
    }
  }

  /** Encoder output (N, S, dModel). */
  encode(src: Tensor, srcKeyPaddingMask?: Tensor | null): Tensor {
    Seq2SeqTransformer.ids('encode: src', src);
    return tidy(() => this.transformer.encoder.forward(this.positional_encoding.forward(this.src_tok_emb.forward(src).mul(Math.sqrt(this.dModel))), { srcKeyPaddingMask }));
  }

  /** Decoder output (N, T, dModel) for target ids against an encoded memory (causal). */
  decode(tgt: Tensor, memory: Tensor, opts: { tgtKeyPaddingMask?: Tensor | null; memoryKeyPaddingMask?: Tensor | null } = {}): Tensor {
    Seq2SeqTransformer.ids('decode: tgt', tgt);
    return tidy(() => this.transformer.decoder.forward(this.positional_encoding.forward(this.tgt_tok_emb.forward(tgt).mul(Math.sqrt(this.dModel))), memory, {
      tgtIsCausal: true, tgtKeyPaddingMask: opts.tgtKeyPaddingMask, memoryKeyPaddingMask: opts.memoryKeyPaddingMask,
    }));
  }

  /** Logits (N, T, tgtVocabSize) with teacher forcing. */
  forward(src: Tensor, tgt: Tensor, opts: Seq2SeqForwardOptions = {}): Tensor {
    return tidy(() => this.generator.forward(this.decode(tgt, this.encode(src, opts.srcKeyPaddingMask), { tgtKeyPaddingMask: opts.tgtKeyPaddingMask, memoryKeyPaddingMask: opts.srcKeyPaddingMask })));
  }

  /** Greedy decoding: per source row, the generated ids after bosId, up to and excluding eosId. */
  greedyDecode(src: Tensor, opts: { bosId: number; eosId: number; maxLength: number; srcKeyPaddingMask?: Tensor | null }): number[][] {
    const bos = checkInt('greedyDecode: bosId', opts.bosId, 0);
    const eos = checkInt('greedyDecode: eosId', opts.eosId, 0);
    const maxLength = checkInt('greedyDecode: maxLength', opts.maxLength, 1);
    const N = src.shape[0];
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() =>
        tidy(() => {
          const memory = this.encode(src, opts.srcKeyPaddingMask);
          let ys = full([N, 1], bos, { dtype: 'int64' });
          const out: number[][] = Array.from({ length: N }, () => []);
          const done = new Array<boolean>(N).fill(false);
          for (let step = 0; step < maxLength && !done.every(Boolean); step++) {
            const logits = this.generator.forward(this.decode(ys, memory, { memoryKeyPaddingMask: opts.srcKeyPaddingMask }).select(1, -1));
            const next = Array.from(logits.argmax(1).toTypedArray() as BigInt64Array, Number);
            next.forEach((id, n) => {
              if (done[n]) return;
              if (id === eos) done[n] = true;
              else out[n].push(id);
            });
            ys = cat([ys, tensor(next, { dtype: 'int64' }).view(N, 1)], 1);
          }
          return out;
        }),
      );
    } finally {
      this.train(wasTraining);
    }
  }
}
