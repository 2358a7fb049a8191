/**
 * MultiheadAttention: torch.nn.MultiheadAttention on the fused attention kernel.
 *
 *   q = query·Wqᵀ + bq,  k = key·Wkᵀ + bk,  v = value·Wvᵀ + bv        (split into H heads of E/H)
 *   head_h = softmax(q_h·k_hᵀ / √(E/H) + mask) · v_h
 *   output = concat(head_1 … head_H)·Woᵀ + bo
 *
 * Shapes (L target length, S source length, N batch, E embedDim): query (L, N, E), key
 * (S, N, kdim), value (S, N, vdim), or (N, L, E) … with `batchFirst`, or unbatched (L, E)
 * …; output like query; weights (N, L, S) averaged over heads, or (N, H, L, S).
 *
 * The parameters and their state-dict keys are PyTorch's: `in_proj_weight` (3E, E) and
 * `in_proj_bias` (3E) when kdim = vdim = E, otherwise `q_proj_weight` (E, E),
 * `k_proj_weight` (E, kdim), `v_proj_weight` (E, vdim) and `in_proj_bias`; then
 * `out_proj.weight` and `out_proj.bias` (a {@link Linear} submodule). A state dict saved
 * from Python loads with `loadStateDict`, and gives the same outputs, weights and gradients.
 *
 * Differences from PyTorch 1.13: rows whose keys are all masked give zeros rather than NaN;
 * returned weights are taken before dropout (PyTorch returns them after dropout: they agree
 * in eval mode or with dropout 0); `add_bias_kv` and `add_zero_attn` are not offered.
 *
 * @example
 * const mha = new tn.nn.MultiheadAttention({ embedDim: 64, numHeads: 8, batchFirst: true });
 * const x = tn.randn([2, 10, 64]);
 * const { output } = mha.forward(x, x, x, { needWeights: false });   // (2, 10, 64), all fused
 */
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { where } from '../ops/shape';
import { Tensor } from '../tensor';
import { scaledDotProductAttention } from './attention';
import { linear } from './functional';
import { Linear, uniformParameter } from './linear';
import { Module } from './module';

/** Options of {@link MultiheadAttention}, as torch.nn.MultiheadAttention's arguments. */
export interface MultiheadAttentionOptions {
  /** Model dimension E (of the query and the output). */
  embedDim: number;
  /** Number of heads H; E must be a multiple of it. */
  numHeads: number;
  /** Dropout probability on the attention weights, applied in training mode only (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Feature size of `key` (default E). */
  kdim?: number;
  /** Feature size of `value` (default E). */
  vdim?: number;
  /** Inputs and output are (N, L, E) rather than (L, N, E) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** Options of {@link MultiheadAttention.forward}. */
export interface MultiheadAttentionForwardOptions {
  /**
   * (N, S) (or (S) unbatched): bool, true = this key is padding and is ignored (PyTorch's
   * convention), or float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /**
   * (L, S) or (N·H, L, S): bool, true = NOT allowed to attend (PyTorch's MHA convention,
   * the opposite of scaledDotProductAttention's), or float, added to the scores.
   */
  attnMask?: Tensor | null;
  /**
   * Also return the attention weights (default true, as PyTorch). They come from the slow
   * path that materialises (N, H, L, S); pass false for speed (the output always comes from
   * the fused kernel).
   */
  needWeights?: boolean;
  /** Average the returned weights over heads (default true). */
  averageAttnWeights?: boolean;
  /**
   * Adds a causal mask (query i sees keys j ≤ i + S − L: the usual one when L = S), alone or
   * on top of `attnMask`. Default false.
   */
  isCausal?: boolean;
}

/** What {@link MultiheadAttention.forward} returns. */
export interface MultiheadAttentionOutput {
  /** Like query: (L, N, E), (N, L, E) with batchFirst, or (L, E). */
  output: Tensor;
  /** (N, L, S) averaged, (N, H, L, S) per head, unbatched without N; null unless needWeights. */
  weights: Tensor | null;
}

const FORWARD_KEYS = new Set(['keyPaddingMask', 'attnMask', 'needWeights', 'averageAttnWeights', 'isCausal']);

/** Multi-head attention; see the module documentation. */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  /** Whether q, k, v projections are packed into `in_proj_weight` (kdim = vdim = E). */
  readonly qkvSameEmbedDim: boolean;
  declare in_proj_weight: Tensor | null;
  declare q_proj_weight: Tensor | null;
  declare k_proj_weight: Tensor | null;
  declare v_proj_weight: Tensor | null;
  declare in_proj_bias: Tensor | null;
  declare out_proj: Linear;

  constructor(opts: MultiheadAttentionOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('MultiheadAttention', 'options { embedDim, numHeads, ... }', opts);
    const E = checkInt('MultiheadAttention: embedDim', opts.embedDim, 1);
    const H = checkInt('MultiheadAttention: numHeads', opts.numHeads, 1);
    if (E % H !== 0) throw new RangeError(`MultiheadAttention: expected embedDim to be a multiple of numHeads, but got embedDim ${E} and numHeads ${H}`);
    const dropout = checkNumber('MultiheadAttention: dropout', opts.dropout ?? 0);
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`MultiheadAttention: expected dropout in [0, 1), but got ${dropout}`);
    const bias = checkBool('MultiheadAttention: bias', opts.bias ?? true);
    this.embedDim = E;
    this.numHeads = H;
    this.headDim = E / H;
    this.kdim = checkInt('MultiheadAttention: kdim', opts.kdim ?? E, 1);
    this.vdim = checkInt('MultiheadAttention: vdim', opts.vdim ?? E, 1);
    this.dropout = dropout;
    this.batchFirst = checkBool('MultiheadAttention: batchFirst', opts.batchFirst ?? false);
    this.qkvSameEmbedDim = this.kdim === E && this.vdim === E;
    const po = { dtype: opts.dtype, device: opts.device };
    // xavier_uniform_: U(±√(6 / (fan_in + fan_out))); biases zero (as PyTorch's _reset_parameters)
    const xavier = (rows: number, cols: number): Tensor => uniformParameter([rows, cols], Math.sqrt(6 / (rows + cols)), po);
    if (this.qkvSameEmbedDim) {
      this.registerParameter('in_proj_weight', xavier(3 * E, E));
      this.registerParameter('q_proj_weight', null);
      this.registerParameter('k_proj_weight', null);
      this.registerParameter('v_proj_weight', null);
    } else {
      this.registerParameter('q_proj_weight', xavier(E, E));
      this.registerParameter('k_proj_weight', xavier(E, this.kdim));
      this.registerParameter('v_proj_weight', xavier(E, this.vdim));
      this.registerParameter('in_proj_weight', null);
    }
    this.registerParameter('in_proj_bias', bias ? zeros([3 * E], po) : null);
    const outProj = new Linear(E, E, { bias, ...po });
    if (outProj.bias) noGrad(() => outProj.bias!.zero_());
    this.registerModule('out_proj', outProj);
  }

  /**
   * Attends from `query` to `key`/`value` (pass the same tensor three times for
   * self-attention). Returns `{ output, weights }`; weights are null unless `needWeights`
   * (default true: pass `needWeights: false` for the fast path).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): MultiheadAttentionOutput {
    const W = 'MultiheadAttention.forward';
    if (opts === null || typeof opts !== 'object') typeError(W, 'an options object', opts);
    for (const k of Object.keys(opts)) {
      if (!FORWARD_KEYS.has(k)) throw new TypeError(`${W}: unknown option '${k}' (known: ${[...FORWARD_KEYS].join(', ')})`);
    }
    for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (!(t instanceof Tensor)) typeError(`${W}: ${name}`, 'a Tensor', t);
    }
    const needWeights = checkBool(`${W}: needWeights`, opts.needWeights ?? true);
    const average = checkBool(`${W}: averageAttnWeights`, opts.averageAttnWeights ?? true);
    const isCausal = checkBool(`${W}: isCausal`, opts.isCausal ?? false);
    const { embedDim: E, numHeads: H, headDim: hd } = this;

    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new RangeError(`${W}: expected query to be 3-D (batched) or 2-D (unbatched), but got shape [${query.shape.join(', ')}]`);
    for (const [name, t, dim] of [['key', key, this.kdim], ['value', value, this.vdim]] as const) {
      if (t.ndim !== query.ndim) throw new RangeError(`${W}: expected ${name} to be ${query.ndim}-D like query, but got shape [${t.shape.join(', ')}]`);
      if (t.shape[t.ndim - 1] !== dim) throw new RangeError(`${W}: expected ${name} to have ${dim} features (the last dim), but got shape [${t.shape.join(', ')}]`);
    }
    if (query.shape[query.ndim - 1] !== E) throw new RangeError(`${W}: expected query to have embedDim ${E} features, but got shape [${query.shape.join(', ')}]`);

    return tidy(() => {
      // (N, L, E) views of the inputs
      const toBatchFirst = (t: Tensor): Tensor => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
      const q0 = toBatchFirst(query);
      const k0 = key === query ? q0 : toBatchFirst(key);
      const v0 = value === key ? k0 : toBatchFirst(value);
      const [N, L] = q0.shape;
      const S = k0.shape[1];
      if (k0.shape[0] !== N || v0.shape[0] !== N) throw new RangeError(`${W}: expected query, key and value to have the same batch size, but got shapes [${query.shape.join(', ')}], [${key.shape.join(', ')}], [${value.shape.join(', ')}]`);
      if (v0.shape[1] !== S) throw new RangeError(`${W}: expected key and value to have the same length, but got shapes [${key.shape.join(', ')}] and [${value.shape.join(', ')}]`);

      // in-projection
      let q: Tensor, k: Tensor, v: Tensor;
      const b = this.in_proj_bias ? this.in_proj_bias.chunk(3) : [null, null, null];
      if (this.qkvSameEmbedDim) {
        const w = this.in_proj_weight!;
        if (query === key && key === value) {
          [q, k, v] = linear(q0, w, this.in_proj_bias).chunk(3, -1);
        } else {
          const [wq, wk, wv] = w.chunk(3);
          q = linear(q0, wq, b[0]);
          k = linear(k0, wk, b[1]);
          v = linear(v0, wv, b[2]);
        }
      } else {
        q = linear(q0, this.q_proj_weight!, b[0]);
        k = linear(k0, this.k_proj_weight!, b[1]);
        v = linear(v0, this.v_proj_weight!, b[2]);
      }
      // (N, T, E) -> (N, H, T, hd)
      const heads = (t: Tensor, T: number): Tensor => t.reshape(N, T, H, hd).transpose(1, 2);
      const mask = this.mergeMasks(W, opts.attnMask ?? null, opts.keyPaddingMask ?? null, batched, N, L, S, q.dtype);
      const r = scaledDotProductAttention(heads(q, L), heads(k, S), heads(v, S), {
        attnMask: mask,
        isCausal,
        dropoutP: this.training ? this.dropout : 0,
        needWeights,
      });
      const attn = r instanceof Tensor ? r : r.output;
      let output = this.out_proj.forward(attn.transpose(1, 2).reshape(N, L, E));
      output = !batched ? output.squeeze(0) : this.batchFirst ? output : output.transpose(0, 1);
      let weights: Tensor | null = null;
      if (needWeights && !(r instanceof Tensor)) {
        weights = average ? r.weights!.mean(1) : r.weights!;
        if (!batched) weights = weights.squeeze(0);
      }
      return { output, weights };
    });
  }

  /** attnMask and keyPaddingMask (PyTorch conventions) → one kernel mask for (N, H, L, S). */
  private mergeMasks(W: string, attnMask: Tensor | null, kpm: Tensor | null, batched: boolean, N: number, L: number, S: number, dtype: DType): Tensor | null {
    const H = this.numHeads;
    let attn: Tensor | null = null; // bool: true = masked out; or float additive
    if (attnMask !== null) {
      if (!(attnMask instanceof Tensor)) typeError(`${W}: attnMask`, 'a Tensor', attnMask);
      const s = attnMask.shape;
      if (s.length === 2) {
        if (s[0] !== L || s[1] !== S) throw new RangeError(`${W}: expected a 2-D attnMask of shape [${L}, ${S}], but got [${s.join(', ')}]`);
        attn = attnMask;
      } else if (s.length === 3) {
        if (s[0] !== N * H || s[1] !== L || s[2] !== S) throw new RangeError(`${W}: expected a 3-D attnMask of shape [${N * H}, ${L}, ${S}], but got [${s.join(', ')}]`);
        attn = attnMask.view(N, H, L, S);
      } else {
        throw new RangeError(`${W}: expected attnMask to be 2-D (L, S) or 3-D (N·H, L, S), but got shape [${s.join(', ')}]`);
      }
      if (attn.dtype !== 'bool' && !attn.dtype.startsWith('float') && attn.dtype !== 'bfloat16') typeError(`${W}: attnMask`, 'a bool or floating tensor', `${attn.dtype} tensor`);
    }
    let pad: Tensor | null = null; // (N, 1, 1, S): bool true = padding, or float additive
    if (kpm !== null) {
      if (!(kpm instanceof Tensor)) typeError(`${W}: keyPaddingMask`, 'a Tensor', kpm);
      const want = batched ? [N, S] : [S];
      const s = kpm.shape;
      if (s.length !== want.length || s.some((d, i) => d !== want[i])) throw new RangeError(`${W}: expected keyPaddingMask of shape [${want.join(', ')}], but got [${s.join(', ')}]`);
      if (kpm.dtype !== 'bool' && !kpm.dtype.startsWith('float') && kpm.dtype !== 'bfloat16') typeError(`${W}: keyPaddingMask`, 'a bool or floating tensor', `${kpm.dtype} tensor`);
      pad = kpm.reshape(N, 1, 1, S);
    }
    if (!attn && !pad) return null;
    const isBool = (t: Tensor | null): boolean => t !== null && t.dtype === 'bool';
    if ((attn === null || isBool(attn)) && (pad === null || isBool(pad))) {
      // both boolean: the kernel's convention is true = attend
      const hidden = attn && pad ? attn.logicalOr(pad) : (attn ?? pad)!;
      return hidden.logicalNot();
    }
    // at least one float: an additive mask, −∞ where a boolean one hides
    const additive = (t: Tensor): Tensor => (isBool(t) ? where(t, -Infinity, zeros([], { dtype })) : t);
    if (attn && pad) return isBool(pad) ? where(pad, -Infinity, attn) : additive(attn).add(pad);
    return additive((attn ?? pad)!);
  }

  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}, dropout=${this.dropout}, batch_first=${this.batchFirst}`;
  }
}
