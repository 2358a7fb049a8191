/**
 * GPT: a decoder-only transformer language model (GPT-2 layout, as Karpathy's nanoGPT).
 *
 *   x = wte(idx) + wpe(pos);  for each block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))
 *   logits = lm_head(ln_f(x))        (lm_head.weight is wte.weight: tied)
 *   attn: causal multi-head self-attention through the fused kernel; mlp: c_proj(GELU(c_fc(x)))
 *
 * Shapes: idx int64 (B, T), T ≤ blockSize → logits (B, T, vocabSize). State-dict keys are
 * nanoGPT's (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, …,
 * `lm_head.weight`), so its checkpoints load and ours load in it. Linear weights are stored as
 * torch.nn.Linear's (out, in); HuggingFace's GPT-2 uses Conv1D (in, out): transpose those.
 *
 * Decoding uses a {@link GPTCache}: `forward(idx, { cache, slots })` appends to the cached
 * sequences, so one token costs one row of work instead of the whole prefix; rows of a batch may
 * sit at different lengths (continuous batching).
 *
 * @example
 * const gpt = new tn.models.GPT({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384 });
 * const { logits, loss } = gpt.forward(x, { targets: y });       // training
 * for await (const id of gpt.generate(prompt, { maxNewTokens: 100, temperature: 0.8, topK: 40 })) …
 */
import { noGrad } from '../autograd';
import { arange, tensor } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { crossEntropy, gelu } from '../nn/functional';
import { scaledDotProductAttention } from '../nn/attention';
import { Dropout } from '../nn/dropout';
import { Embedding } from '../nn/embedding';
import { LayerNorm } from '../nn/layer_norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { ModuleList } from '../nn/module_list';
import { Tensor } from '../tensor';
import { GPTCache } from './gpt_cache';
import type { GPTCacheOptions } from './gpt_cache';
import { generate, generateSync } from './generation';
import type { GenerateOptions } from './generation';

/** Options of {@link GPT} (nanoGPT's GPTConfig in camelCase). */
export interface GPTOptions {
  vocabSize: number;
  /** Context length: positions learned, and the longest sequence. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  /** Embedding width (a multiple of nHead). */
  nEmbd: number;
  /** Dropout on embeddings, attention weights, residual branches (training only; default 0). */
  dropout?: number;
  /** Biases in the linear layers and layer norms (default true, as GPT-2). */
  bias?: boolean;
  dtype?: DType;
  device?: Device;
}

/** Per-forward decoding context shared by the blocks. */
interface DecodeContext {
  cache: GPTCache;
  slots: number[];
  /** Rows are slots 0..B-1 in order (views, no gather). */
  contiguous: boolean;
  /** All rows hold the same number of tokens before this step. */
  sameLength: boolean;
  /** Per row: tokens after this step (the keys to attend). */
  totals: number[];
  /** The longest total. */
  maxTotal: number;
  /** int64 (B,) of slots, for gathering non-contiguous rows. */
  slotIndex: Tensor | null;
}

/** Causal self-attention with the heads' q, k, v in one projection (nanoGPT's CausalSelfAttention). */
class CausalSelfAttention extends Module {
  declare c_attn: Linear;
  declare c_proj: Linear;
  declare resid_dropout: Dropout;
  constructor(
    readonly nHead: number,
    readonly nEmbd: number,
    readonly dropout: number,
    bias: boolean,
    o: { dtype?: DType; device?: Device },
  ) {
    super();
    this.registerModule('c_attn', new Linear(nEmbd, 3 * nEmbd, { bias, ...o }));
    this.registerModule('c_proj', new Linear(nEmbd, nEmbd, { bias, ...o }));
    this.registerModule('resid_dropout', new Dropout(dropout));
  }

  forward(x: Tensor, layer: number, ctx: DecodeContext | null): Tensor {
    const [B, T, C] = x.shape;
    const hd = C / this.nHead;
    // (B, T, 3, H, hd) → three (B, H, T, hd) strided views; the kernel reads them in place.
    const qkv = this.c_attn.forward(x).view(B, T, 3, this.nHead, hd);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(2, i).transpose(1, 2));
    let y: Tensor;
    if (ctx === null) {
      y = scaledDotProductAttention(q, k, v, { isCausal: true, dropoutP: this.training ? this.dropout : 0 });
    } else {
      ctx.cache.write(layer, ctx.slots, k, v, ctx.contiguous, ctx.sameLength);
      let keys = ctx.cache.keys[layer];
      let values = ctx.cache.values[layer];
      if (ctx.contiguous) {
        keys = keys.narrow(0, 0, B);
        values = values.narrow(0, 0, B);
      } else {
        keys = keys.indexSelect(0, ctx.slotIndex!);
        values = values.indexSelect(0, ctx.slotIndex!);
      }
      keys = keys.narrow(2, 0, ctx.maxTotal);
      values = values.narrow(2, 0, ctx.maxTotal);
      // One new token per row: it sees its row's keys [0, total). Several tokens (rows of equal
      // length): causal, aligned to the end of the cache.
      y = T === 1
        ? scaledDotProductAttention(q, keys, values, ctx.sameLength ? {} : { keyPaddingLengths: ctx.totals })
        : scaledDotProductAttention(q, keys, values, { isCausal: true });
    }
    // (B, H, T, hd) → (B, T, C)
    return this.resid_dropout.forward(this.c_proj.forward(y.transpose(1, 2).reshape(B, T, C)));
  }
}

/** The feed-forward block: c_proj(GELU(c_fc(x))), width 4·nEmbd. */
class MLP extends Module {
  declare c_fc: Linear;
  declare c_proj: Linear;
  declare dropout: Dropout;
  constructor(nEmbd: number, dropout: number, bias: boolean, o: { dtype?: DType; device?: Device }) {
    super();
    this.registerModule('c_fc', new Linear(nEmbd, 4 * nEmbd, { bias, ...o }));
    this.registerModule('c_proj', new Linear(4 * nEmbd, nEmbd, { bias, ...o }));
    this.registerModule('dropout', new Dropout(dropout));
  }

  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(gelu(this.c_fc.forward(x))));
  }
}

/** A pre-norm transformer block. */
class Block extends Module {
  declare ln_1: LayerNorm;
  declare attn: CausalSelfAttention;
  declare ln_2: LayerNorm;
  declare mlp: MLP;
  constructor(c: Required<Omit<GPTOptions, 'dtype' | 'device'>>, o: { dtype?: DType; device?: Device }) {
    super();
    this.registerModule('ln_1', new LayerNorm(c.nEmbd, { bias: c.bias, ...o }));
    this.registerModule('attn', new CausalSelfAttention(c.nHead, c.nEmbd, c.dropout, c.bias, o));
    this.registerModule('ln_2', new LayerNorm(c.nEmbd, { bias: c.bias, ...o }));
    this.registerModule('mlp', new MLP(c.nEmbd, c.dropout, c.bias, o));
  }

  forward(x: Tensor, layer: number, ctx: DecodeContext | null): Tensor {
    x = x.add(this.attn.forward(this.ln_1.forward(x), layer, ctx));
    return x.add(this.mlp.forward(this.ln_2.forward(x)));
  }
}

/** nanoGPT's `transformer` container (wte, wpe, drop, h, ln_f). */
class GPTBody extends Module {
  declare wte: Embedding;
  declare wpe: Embedding;
  declare drop: Dropout;
  declare h: ModuleList<Block>;
  declare ln_f: LayerNorm;
  /** A container: GPT.forward runs its parts. */
  forward(): never {
    throw new Error('GPT.transformer has no forward(): call GPT.forward');
  }
}

/** Options of {@link GPT.forward}. */
export interface GPTForwardOptions {
  /** int64 (B, T) next-token targets; −1 entries are ignored. Adds `loss` (mean cross entropy). */
  targets?: Tensor;
  /** Decode against (and append to) this cache. */
  cache?: GPTCache;
  /** With a cache: the slot of each row (default 0..B-1). */
  slots?: readonly number[];
}

/** What {@link GPT.forward} returns. */
export interface GPTOutput {
  /** (B, T, vocabSize). */
  logits: Tensor;
  /** Mean cross entropy over non-ignored targets, when targets were given. */
  loss?: Tensor;
}

/** A GPT language model; see the module documentation. */
export class GPT extends Module {
  declare transformer: GPTBody;
  declare lm_head: Linear;
  /** The resolved configuration. */
  readonly config: Readonly<Required<Omit<GPTOptions, 'dtype' | 'device'>>>;

  constructor(opts: GPTOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('GPT', 'options { vocabSize, blockSize, nLayer, nHead, nEmbd }', opts);
    const c = {
      vocabSize: checkInt('GPT: vocabSize', opts.vocabSize, 1),
      blockSize: checkInt('GPT: blockSize', opts.blockSize, 1),
      nLayer: checkInt('GPT: nLayer', opts.nLayer, 1),
      nHead: checkInt('GPT: nHead', opts.nHead, 1),
      nEmbd: checkInt('GPT: nEmbd', opts.nEmbd, 1),
      dropout: checkNumber('GPT: dropout', opts.dropout ?? 0),
      bias: checkBool('GPT: bias', opts.bias ?? true),
    };
    if (c.nEmbd % c.nHead !== 0) throw new RangeError(`GPT: expected nEmbd divisible by nHead, but got nEmbd ${c.nEmbd} and nHead ${c.nHead}`);
    if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`GPT: dropout: expected a probability in [0, 1), but got ${c.dropout}`);
    this.config = c;
    const o = { dtype: opts.dtype, device: opts.device };
    const body = new GPTBody();
    body.registerModule('wte', new Embedding(c.vocabSize, c.nEmbd, o));
    body.registerModule('wpe', new Embedding(c.blockSize, c.nEmbd, o));
    body.registerModule('drop', new Dropout(c.dropout));
    body.registerModule('h', new ModuleList(Array.from({ length: c.nLayer }, () => new Block(c, o))));
    body.registerModule('ln_f', new LayerNorm(c.nEmbd, { bias: c.bias, ...o }));
    this.registerModule('transformer', body);
    this.registerModule('lm_head', new Linear(c.nEmbd, c.vocabSize, { bias: false, ...o }));
    const untied = this.lm_head.weight;
    this.lm_head.weight = body.wte.weight; // weight tying, as nanoGPT
    untied.dispose();
    this.initWeights();
  }

  /** nanoGPT's initialisation: N(0, 0.02) weights, zero biases, residual projections scaled by 1/√(2·nLayer). */
  private initWeights(): void {
    noGrad(() => {
      for (const [name, p] of this.namedParameters()) {
        if (name.endsWith('.bias')) p.zero_();
        else if (name.endsWith('c_proj.weight')) p.normal_(0, 0.02 / Math.sqrt(2 * this.config.nLayer));
        else if (!name.includes('ln_')) p.normal_(0, 0.02);
      }
    });
  }

  /** A KV cache for this model (maxLength ≤ blockSize). */
  createCache(opts: GPTCacheOptions): GPTCache {
    const maxLength = checkInt('createCache: maxLength', opts?.maxLength, 1, this.config.blockSize);
    const w = this.transformer.wte.weight;
    return new GPTCache(this.config.nLayer, this.config.nHead, this.config.nEmbd / this.config.nHead, { maxBatch: opts.maxBatch, maxLength, dtype: w.dtype, device: w.device });
  }

  /** Logits (and loss with targets) for idx (B, T); with a cache, appends to its sequences. */
  forward(idx: Tensor, opts: GPTForwardOptions = {}): GPTOutput {
    if (!(idx instanceof Tensor)) typeError('GPT.forward: idx', 'an int64 Tensor (B, T)', idx);
    if (idx.ndim !== 2 || idx.dtype !== 'int64') throw new TypeError(`GPT.forward: idx: expected an int64 Tensor of shape (B, T), but got ${idx.dtype} of shape [${idx.shape.join(', ')}]`);
    const [B, T] = idx.shape;
    const ctx = opts.cache ? this.decodeContext(opts.cache, opts.slots, B, T) : null;
    if (!ctx && T > this.config.blockSize) throw new RangeError(`GPT.forward: expected a sequence of at most blockSize ${this.config.blockSize} tokens, but got ${T}`);
    const out = tidy(() => {
      let pos: Tensor;
      if (ctx === null) pos = arange(0, T, 1, { dtype: 'int64' });
      else if (ctx.sameLength) pos = arange(ctx.totals[0] - T, ctx.totals[0], 1, { dtype: 'int64' });
      else pos = tensor(ctx.totals.flatMap((n) => Array.from({ length: T }, (_, t) => n - T + t)), { dtype: 'int64' }).view(B, T);
      const body = this.transformer;
      let x = body.drop.forward(body.wte.forward(idx).add(body.wpe.forward(pos)));
      let layer = 0;
      for (const block of body.h) x = block.forward(x, layer++, ctx);
      const logits = this.lm_head.forward(body.ln_f.forward(x));
      if (!opts.targets) return { logits };
      const loss = crossEntropy(logits.view(B * T, this.config.vocabSize), opts.targets.reshape(B * T), { ignoreIndex: -1 });
      return { logits, loss };
    });
    if (ctx) {
      ctx.cache.advance(ctx.slots, T);
      ctx.slotIndex?.dispose();
    }
    return out;
  }

  /** Checks a cached forward and gathers what the blocks need. */
  private decodeContext(cache: GPTCache, slotsArg: readonly number[] | undefined, B: number, T: number): DecodeContext {
    if (!(cache instanceof GPTCache)) typeError('GPT.forward: cache', 'a GPTCache from createCache()', cache);
    const slots = slotsArg ? [...slotsArg] : Array.from({ length: B }, (_, b) => b);
    if (slots.length !== B) throw new RangeError(`GPT.forward: slots: expected ${B} slots (one per row), but got ${slots.length}`);
    slots.forEach((s) => cache.checkSlot('forward', s));
    if (new Set(slots).size !== B) throw new RangeError(`GPT.forward: slots: expected distinct slots, but got [${slots.join(', ')}]`);
    const before = slots.map((s) => cache.length(s));
    const sameLength = before.every((n) => n === before[0]);
    if (T > 1 && !sameLength) throw new RangeError(`GPT.forward: with T = ${T} > 1 every row must hold the same number of cached tokens, but got lengths [${before.join(', ')}]`);
    const totals = before.map((n) => n + T);
    const maxTotal = Math.max(...totals);
    if (maxTotal > cache.maxLength) throw new RangeError(`GPT.forward: the cache holds ${cache.maxLength} tokens per slot, but this step needs ${maxTotal}`);
    const contiguous = slots.every((s, b) => s === b);
    return { cache, slots, contiguous, sameLength, totals, maxTotal, slotIndex: contiguous ? null : tensor(slots, { dtype: 'int64' }) };
  }

  /**
   * Streams generated token ids (an async iterator yielding to the event loop between tokens).
   * Prefills the prompt once, then decodes one token per step against a KV cache; stops after
   * maxNewTokens, at a stop token, or when the context (blockSize) is full.
   */
  generate(promptIds: readonly number[], opts: GenerateOptions = {}): AsyncIterable<number> {
    return generate(this, promptIds, opts);
  }

  /** As {@link generate}, synchronously, returning the new ids. */
  generateSync(promptIds: readonly number[], opts: GenerateOptions = {}): number[] {
    return generateSync(this, promptIds, opts);
  }
}
