/**
 * BERT with a masked-language-model head (Devlin et al., 2018), in HuggingFace's
 * BertForMaskedLM layout.
 *
 *   x = LayerNorm(word(ids) + position(0…L−1) + tokenType(types))            (dropout)
 *   each layer (post-norm): x = LN(x + dense(selfAttention(x)));  x = LN(x + out(GELU(inter(x))))
 *   logits = decoder(LN(GELU(transform.dense(x)))) + bias      (decoder tied to word embeddings)
 *
 * State-dict keys are HuggingFace's (`bert.embeddings.word_embeddings.weight`,
 * `bert.encoder.layer.{i}.attention.self.query.weight`, `…attention.output.LayerNorm.weight`,
 * `…intermediate.dense.*`, `…output.dense.*`, `cls.predictions.transform.dense.*`,
 * `cls.predictions.bias`, with `cls.predictions.decoder.weight/bias` tied as there), so a
 * `BertForMaskedLM` checkpoint converted to safetensors loads. Layer norms use eps 1e-12.
 *
 * @example
 * const bert = new tn.models.BertForMaskedLM({ vocabSize: 1000, hiddenSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 512 });
 * const { inputIds, labels } = tn.models.maskTokens(ids, { maskTokenId: 3, vocabSize: 1000, seed: 0 });
 * const { logits, loss } = bert.forward(inputIds, { labels, attentionMask });
 */
import { arange, full, tensor, zeros } from '../creation';
import { streamFor } from '../data/random';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { scaledDotProductAttention } from '../nn/attention';
import { Dropout } from '../nn/dropout';
import { Embedding } from '../nn/embedding';
import { crossEntropy, gelu } from '../nn/functional';
import { LayerNorm } from '../nn/layer_norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { Tensor } from '../tensor';

/** Options of {@link BertForMaskedLM} (HuggingFace's BertConfig in camelCase). */
export interface BertOptions {
  vocabSize: number;
  /** Default 768. */
  hiddenSize?: number;
  /** Default 12. */
  numHiddenLayers?: number;
  /** Default 12. */
  numAttentionHeads?: number;
  /** Default 3072. */
  intermediateSize?: number;
  /** Default 512. */
  maxPositionEmbeddings?: number;
  /** Default 2. */
  typeVocabSize?: number;
  /** Dropout of embeddings and residual branches (training only; default 0.1). */
  hiddenDropoutProb?: number;
  /** Dropout of attention weights (default 0.1). */
  attentionProbsDropoutProb?: number;
  /** Default 1e-12. */
  layerNormEps?: number;
  dtype?: DType;
  device?: Device;
}

type Resolved = Required<Omit<BertOptions, 'dtype' | 'device'>>;
type Placement = { dtype?: DType; device?: Device };

/** A container whose parts are run by its parent (no forward of its own). */
abstract class Part extends Module {
  forward(): never {
    throw new Error(`${this.constructor.name} has no forward(): its parent module runs it`);
  }
}
class Container extends Part {}

/** `…attention.self`: query, key, value projections. */
class SelfAttention extends Part {
  declare query: Linear;
  declare key: Linear;
  declare value: Linear;
  constructor(c: Resolved, o: Placement) {
    super();
    for (const n of ['query', 'key', 'value']) this.registerModule(n, new Linear(c.hiddenSize, c.hiddenSize, o));
  }
}

/** `…attention.output` / `…output`: dense + dropout + residual + LayerNorm. */
class AddNorm extends Part {
  declare dense: Linear;
  declare LayerNorm: LayerNorm;
  declare dropout: Dropout;
  constructor(inSize: number, c: Resolved, o: Placement) {
    super();
    this.registerModule('dense', new Linear(inSize, c.hiddenSize, o));
    this.registerModule('LayerNorm', new LayerNorm(c.hiddenSize, { eps: c.layerNormEps, ...o }));
    this.registerModule('dropout', new Dropout(c.hiddenDropoutProb));
  }

  apply(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(h)).add(residual));
  }
}

/** `bert.encoder.layer.{i}`. */
class Layer extends Part {
  declare attention: Container & { self: SelfAttention; output: AddNorm };
  declare intermediate: Container & { dense: Linear };
  declare output: AddNorm;
  constructor(private readonly c: Resolved, o: Placement) {
    super();
    const attention = new Container();
    attention.registerModule('self', new SelfAttention(c, o));
    attention.registerModule('output', new AddNorm(c.hiddenSize, c, o));
    this.registerModule('attention', attention);
    const intermediate = new Container();
    intermediate.registerModule('dense', new Linear(c.hiddenSize, c.intermediateSize, o));
    this.registerModule('intermediate', intermediate);
    this.registerModule('output', new AddNorm(c.intermediateSize, c, o));
  }

  run(x: Tensor, mask: Tensor | null): Tensor {
    const [B, L, D] = x.shape;
    const H = this.c.numAttentionHeads;
    const heads = (t: Tensor): Tensor => t.view(B, L, H, D / H).transpose(1, 2);
    const s = this.attention.self;
    const ctx = scaledDotProductAttention(heads(s.query.forward(x)), heads(s.key.forward(x)), heads(s.value.forward(x)), {
      attnMask: mask, dropoutP: this.training ? this.c.attentionProbsDropoutProb : 0,
    });
    const a = this.attention.output.apply(ctx.transpose(1, 2).reshape(B, L, D), x);
    return this.output.apply(gelu(this.intermediate.dense.forward(a)), a);
  }
}

/** `bert.embeddings`. */
class Embeddings extends Part {
  declare word_embeddings: Embedding;
  declare position_embeddings: Embedding;
  declare token_type_embeddings: Embedding;
  declare LayerNorm: LayerNorm;
  declare dropout: Dropout;
  constructor(c: Resolved, o: Placement) {
    super();
    this.registerModule('word_embeddings', new Embedding(c.vocabSize, c.hiddenSize, o));
    this.registerModule('position_embeddings', new Embedding(c.maxPositionEmbeddings, c.hiddenSize, o));
    this.registerModule('token_type_embeddings', new Embedding(c.typeVocabSize, c.hiddenSize, o));
    this.registerModule('LayerNorm', new LayerNorm(c.hiddenSize, { eps: c.layerNormEps, ...o }));
    this.registerModule('dropout', new Dropout(c.hiddenDropoutProb));
  }
}

/** Options of {@link BertForMaskedLM.forward}. */
export interface BertForwardOptions {
  /** (B, L), 1 (or true) for real tokens and 0 for padding (HuggingFace's convention). */
  attentionMask?: Tensor;
  /** (B, L) segment ids (default all 0). */
  tokenTypeIds?: Tensor;
  /** (B, L) targets; −100 entries are ignored. Adds `loss`. */
  labels?: Tensor;
}

/** BERT with its MLM head; see the module documentation. */
export class BertForMaskedLM extends Module {
  declare bert: Container & { embeddings: Embeddings; encoder: Container & { layer: Container } };
  declare cls: Container & { predictions: Container & { transform: Container & { dense: Linear; LayerNorm: LayerNorm }; decoder: Linear; bias: Tensor } };
  readonly config: Readonly<Resolved>;
  private readonly layers: Layer[];

  constructor(opts: BertOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('BertForMaskedLM', 'options { vocabSize, ... }', opts);
    const c: Resolved = {
      vocabSize: checkInt('Bert: vocabSize', opts.vocabSize, 1),
      hiddenSize: checkInt('Bert: hiddenSize', opts.hiddenSize ?? 768, 1),
      numHiddenLayers: checkInt('Bert: numHiddenLayers', opts.numHiddenLayers ?? 12, 1),
      numAttentionHeads: checkInt('Bert: numAttentionHeads', opts.numAttentionHeads ?? 12, 1),
      intermediateSize: checkInt('Bert: intermediateSize', opts.intermediateSize ?? 3072, 1),
      maxPositionEmbeddings: checkInt('Bert: maxPositionEmbeddings', opts.maxPositionEmbeddings ?? 512, 1),
      typeVocabSize: checkInt('Bert: typeVocabSize', opts.typeVocabSize ?? 2, 1),
      hiddenDropoutProb: checkNumber('Bert: hiddenDropoutProb', opts.hiddenDropoutProb ?? 0.1),
      attentionProbsDropoutProb: checkNumber('Bert: attentionProbsDropoutProb', opts.attentionProbsDropoutProb ?? 0.1),
      layerNormEps: checkNumber('Bert: layerNormEps', opts.layerNormEps ?? 1e-12),
    };
    if (c.hiddenSize % c.numAttentionHeads !== 0) throw new RangeError(`Bert: expected hiddenSize divisible by numAttentionHeads, but got ${c.hiddenSize} and ${c.numAttentionHeads}`);
    this.config = c;
    const o = { dtype: opts.dtype, device: opts.device };
    const bert = new Container();
    bert.registerModule('embeddings', new Embeddings(c, o));
    const encoder = new Container();
    const layer = new Container();
    this.layers = Array.from({ length: c.numHiddenLayers }, (_, i) => layer.registerModule(String(i), new Layer(c, o)));
    encoder.registerModule('layer', layer);
    bert.registerModule('encoder', encoder);
    this.registerModule('bert', bert);
    const cls = new Container();
    const predictions = new Container();
    const transform = new Container();
    transform.registerModule('dense', new Linear(c.hiddenSize, c.hiddenSize, o));
    transform.registerModule('LayerNorm', new LayerNorm(c.hiddenSize, { eps: c.layerNormEps, ...o }));
    predictions.registerModule('transform', transform);
    // HuggingFace: the decoder's weight is the word embeddings, its bias is predictions.bias.
    const bias = predictions.registerParameter('bias', zeros([c.vocabSize], o))!;
    const decoder = predictions.registerModule('decoder', new Linear(c.hiddenSize, c.vocabSize, o));
    const [w, b] = [decoder.weight, decoder.bias!];
    decoder.weight = (bert as unknown as { embeddings: Embeddings }).embeddings.word_embeddings.weight;
    decoder.bias = bias;
    w.dispose();
    b.dispose();
    cls.registerModule('predictions', predictions);
    this.registerModule('cls', cls);
  }

  /** MLM logits (B, L, vocabSize), and the loss over labels ≠ −100 when labels are given. */
  forward(inputIds: Tensor, opts: BertForwardOptions = {}): { logits: Tensor; loss?: Tensor } {
    if (!(inputIds instanceof Tensor) || inputIds.ndim !== 2 || inputIds.dtype !== 'int64') {
      throw new TypeError(`BertForMaskedLM.forward: inputIds: expected an int64 Tensor (B, L), but got ${inputIds instanceof Tensor ? `${inputIds.dtype} [${inputIds.shape.join(', ')}]` : typeof inputIds}`);
    }
    const [B, L] = inputIds.shape;
    if (L > this.config.maxPositionEmbeddings) throw new RangeError(`BertForMaskedLM.forward: expected at most ${this.config.maxPositionEmbeddings} tokens, but got ${L}`);
    return tidy(() => {
      const e = this.bert.embeddings;
      const types = opts.tokenTypeIds ?? full([B, L], 0, { dtype: 'int64' });
      let x = e.word_embeddings.forward(inputIds).add(e.position_embeddings.forward(arange(0, L, 1, { dtype: 'int64' }))).add(e.token_type_embeddings.forward(types));
      x = e.dropout.forward(e.LayerNorm.forward(x));
      // (B, L) 1/0 → (B, 1, 1, L) bool, true = may attend.
      const mask = opts.attentionMask ? opts.attentionMask.ne(0).view(B, 1, 1, L) : null;
      for (const layer of this.layers) x = layer.run(x, mask);
      const p = this.cls.predictions;
      const h = p.transform.LayerNorm.forward(gelu(p.transform.dense.forward(x)));
      const logits = p.decoder.forward(h);
      if (!opts.labels) return { logits };
      return { logits, loss: crossEntropy(logits.view(B * L, this.config.vocabSize), opts.labels.reshape(B * L), { ignoreIndex: -100 }) };
    });
  }
}

/** Options of {@link maskTokens}. */
export interface MaskTokensOptions {
  /** The [MASK] token. */
  maskTokenId: number;
  /** Random replacements are drawn from [0, vocabSize). */
  vocabSize: number;
  /** Fraction of positions selected (default 0.15). */
  probability?: number;
  /** Ids never selected (e.g. [CLS], [SEP], padding). */
  specialTokenIds?: readonly number[];
  /** Seed of the draw (default 0). */
  seed?: number;
}

/**
 * BERT's masking recipe: selects `probability` of the positions; of those 80 % become
 * [MASK], 10 % a random token and 10 % stay; labels are the original ids at selected positions
 * and −100 elsewhere (ignored by the loss). Deterministic given the seed.
 */
export function maskTokens(ids: Tensor, opts: MaskTokensOptions): { inputIds: Tensor; labels: Tensor } {
  if (!(ids instanceof Tensor) || ids.dtype !== 'int64') typeError('maskTokens: ids', 'an int64 Tensor', ids);
  const maskId = checkInt('maskTokens: maskTokenId', opts.maskTokenId, 0);
  const vocab = checkInt('maskTokens: vocabSize', opts.vocabSize, 1);
  const p = checkNumber('maskTokens: probability', opts.probability ?? 0.15);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`maskTokens: probability: expected a value in [0, 1], but got ${p}`);
  const special = new Set(opts.specialTokenIds ?? []);
  const random = streamFor(opts.seed ?? 0);
  const src = ids.contiguous().toTypedArray() as BigInt64Array;
  const input = BigInt64Array.from(src);
  const labels = new BigInt64Array(src.length).fill(-100n);
  for (let i = 0; i < src.length; i++) {
    if (special.has(Number(src[i])) || random() >= p) continue;
    labels[i] = src[i];
    const r = random();
    if (r < 0.8) input[i] = BigInt(maskId);
    else if (r < 0.9) input[i] = BigInt(Math.floor(random() * vocab));
  }
  return { inputIds: tensor(input).view(...ids.shape), labels: tensor(labels).view(...ids.shape) };
}
