/**
 * Scaled dot-product attention on the fused flash-style kernel
 * (native/src/kernels/attention).
 *
 *   s = scale · q·kᵀ            (scale defaults to 1/√d)
 *   s = softcap · tanh(s / softcap)                      with `softcap`
 *   s = s − slope_h · |i + off − j| + mask               with `alibiSlopes`, a float `attnMask`
 *   s = −∞ where hidden        (bool `attnMask` false, causal, sliding window, key padding)
 *   out = dropout(softmax(s)) · v
 *
 * Shapes: q (B, Hq, Lq, d), k (B, Hkv, Lk, d), v (B, Hkv, Lk, dv) → out (B, Hq, Lq, dv).
 * `off` aligns the causal diagonal, the window and ALiBi: Lk − Lq for `causalAlign:
 * 'bottom-right'` (the default, as FlashAttention ≥ 2.1; what decoding against a KV cache
 * needs: the last query sees every key), 0 for `'top-left'` (PyTorch's `is_causal`).
 * Rows where every key is hidden give zeros (not NaN), with zero gradients.
 *
 * The kernel never materialises the Lq × Lk matrix and is differentiable in q, k, v and a
 * float `attnMask`. Tensors on other devices (CUDA) take the same op, which falls back to
 * the naive math path there.
 *
 * @example
 * const q = tn.randn([1, 8, 128, 64]), k = tn.randn([1, 8, 128, 64]), v = tn.randn([1, 8, 128, 64]);
 * const out = tn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true });   // (1, 8, 128, 64)
 * const { output, lse } = tn.nn.functional.scaledDotProductAttention(q, k, v, { returnLse: true });
 */
import { native } from '../binding';
import { tensor } from '../creation';
import { isFloating } from '../dtype';
import { isInt, rangeError, typeError } from '../errors';
import { opId } from '../ops/call';
import { Tensor } from '../tensor';

const OP = {
  sdpa: opId('scaledDotProductAttention'),
  weights: opId('attentionWeights'),
};

/** Options of {@link scaledDotProductAttention}; every one is optional. */
export interface ScaledDotProductAttentionOptions {
  /**
   * A mask broadcastable to (B, Hq, Lq, Lk): bool, where true means "may attend" (as
   * PyTorch's scaled_dot_product_attention), or float, added to the scores (use −Infinity
   * to hide; its gradient is computed when it requires grad).
   */
  attnMask?: Tensor | null;
  /**
   * Per batch row, how many leading keys are real: keys j ≥ lengths[b] are hidden. An
   * integer Tensor (B,) or an array of B integers. Cheaper than an equivalent mask.
   */
  keyPaddingLengths?: Tensor | readonly number[] | null;
  /** Hides keys after the (aligned) diagonal. Default false. */
  isCausal?: boolean;
  /**
   * Where the causal diagonal, the sliding window and ALiBi distances are anchored when
   * Lq ≠ Lk: 'bottom-right' (default; query i sits at key position i + Lk − Lq) or
   * 'top-left' (query i at key position i, as PyTorch 1.13's `is_causal`).
   */
  causalAlign?: 'bottom-right' | 'top-left';
  /** Multiplies q·kᵀ. Default 1/√d. */
  scale?: number | null;
  /**
   * Dropout probability on the attention weights, in [0, 1). As in PyTorch's
   * `scaled_dot_product_attention`, it applies whenever it is > 0: pass 0 when not
   * training (modules such as {@link MultiheadAttention} do that for you). Kept weights
   * are scaled by 1/(1 − p); the draw follows `tn.manualSeed`. Default 0.
   */
  dropoutP?: number;
  /**
   * Grouped-query / multi-query attention: k and v may have fewer heads than q (Hq a
   * multiple of Hkv); query head h reads key/value head ⌊h / (Hq / Hkv)⌋. Default false.
   */
  enableGqa?: boolean;
  /**
   * [left, right]: query i (at aligned position p = i + off) sees keys p − left … p + right;
   * −1 leaves a side unbounded. Combined with `isCausal`, right is moot. Default unbounded.
   */
  slidingWindow?: readonly [number, number] | null;
  /** ALiBi slopes, (Hq) or (B, Hq): adds −slope · |i + off − j| to the scores. */
  alibiSlopes?: Tensor | readonly number[] | null;
  /** Caps the scores smoothly: s = softcap · tanh(s / softcap) (Gemma 2). 0 or absent = off. */
  softcap?: number | null;
  /** Also return the log-sum-exp of each row's scores (float32 (B, Hq, Lq); −Infinity for empty rows). */
  returnLse?: boolean;
  /**
   * Also return the attention weights softmax(s) (B, Hq, Lq, Lk), before dropout. Slow
   * path: the weights come from a separate naive computation that materialises Lq × Lk (the
   * output itself still comes from the fused kernel). For inspection, not for speed. They are
   * differentiable (through the naive path).
   */
  needWeights?: boolean;
}

/** What {@link scaledDotProductAttention} returns with `returnLse` or `needWeights`. */
export interface AttentionOutput {
  /** (B, Hq, Lq, dv). */
  output: Tensor;
  /** float32 (B, Hq, Lq), with `returnLse`. */
  lse?: Tensor;
  /** (B, Hq, Lq, Lk) pre-dropout weights, with `needWeights`. */
  weights?: Tensor;
}

type WithLse = { returnLse: true };
type WithWeights = { needWeights: true };

const KNOWN = new Set<string>([
  'attnMask', 'keyPaddingLengths', 'isCausal', 'causalAlign', 'scale', 'dropoutP', 'enableGqa', 'slidingWindow',
  'alibiSlopes', 'softcap', 'returnLse', 'needWeights',
]);

const WHERE = 'scaledDotProductAttention';

function tensorArg(name: string, x: unknown): number {
  if (!(x instanceof Tensor)) typeError(`${WHERE}: ${name}`, 'a Tensor', x);
  return x.id;
}

function boolOpt(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') typeError(WHERE, `${name} to be a boolean`, v);
  return v;
}

/** The decoded call: native arguments plus the temporaries to free after it. */
interface Prepared {
  args: unknown[];
  temps: Tensor[];
  returnLse: boolean;
  needWeights: boolean;
}

/** Tensor or array of numbers → handle (arrays become a temporary tensor). */
function tensorOrArray(name: string, v: unknown, dtype: 'int64' | 'float64', check: (x: number) => boolean, what: string, temps: Tensor[]): number | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Tensor) return v.id;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && check(x))) {
    const t = tensor(v as number[], { dtype });
    temps.push(t);
    return t.id;
  }
  return typeError(WHERE, `${name} to be a Tensor or a non-empty array of ${what}`, v);
}

function prepare(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions | undefined): Prepared {
  const o = (opts ?? {}) as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) typeError(WHERE, 'options to be an object', opts);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`${WHERE}: unknown option '${key}' (known: ${[...KNOWN].join(', ')})`);
  }
  const qi = tensorArg('q', q);
  const ki = tensorArg('k', k);
  const vi = tensorArg('v', v);
  // Tensor invariants the user most often gets wrong, named in JS terms (the kernel checks
  // the rest: sizes, heads, broadcasting, devices).
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new RangeError(`${WHERE}: expected q, k and v to be 4-D (B, H, L, d), but got shapes [${q.shape.join(', ')}], [${k.shape.join(', ')}] and [${v.shape.join(', ')}]`);
  }
  if (!isFloating(q.dtype) || k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new TypeError(`${WHERE}: expected q, k and v of one floating dtype, but got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  }
  const mask = o.attnMask;
  if (mask !== undefined && mask !== null) {
    if (!(mask instanceof Tensor)) typeError(WHERE, 'attnMask to be a Tensor (bool or float)', mask);
    if (mask.dtype !== 'bool' && !isFloating(mask.dtype)) throw new TypeError(`${WHERE}: expected attnMask to be bool (true = attend) or floating (additive), but got ${mask.dtype}`);
  }

  const isCausal = boolOpt('isCausal', o.isCausal);
  const align = o.causalAlign ?? 'bottom-right';
  if (align !== 'bottom-right' && align !== 'top-left') typeError(WHERE, "causalAlign to be 'bottom-right' or 'top-left'", align);

  let scale: number | null = null;
  if (o.scale !== undefined && o.scale !== null) {
    if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) typeError(WHERE, 'scale to be a finite number', o.scale);
    scale = o.scale;
  }
  let dropoutP = 0;
  if (o.dropoutP !== undefined) {
    if (typeof o.dropoutP !== 'number' || Number.isNaN(o.dropoutP)) typeError(WHERE, 'dropoutP to be a number in [0, 1)', o.dropoutP);
    if (!(o.dropoutP >= 0 && o.dropoutP < 1)) rangeError(WHERE, 'dropoutP to be in [0, 1)', o.dropoutP);
    dropoutP = o.dropoutP;
  }
  const enableGqa = boolOpt('enableGqa', o.enableGqa);

  let windowLeft: number | null = null;
  let windowRight: number | null = null;
  if (o.slidingWindow !== undefined && o.slidingWindow !== null) {
    const w = o.slidingWindow;
    if (!Array.isArray(w) || w.length !== 2 || !w.every((x) => isInt(x) && x >= -1)) {
      const bad = Array.isArray(w) && w.length === 2 && w.every(isInt);
      (bad ? rangeError : typeError)(WHERE, 'slidingWindow to be [left, right] integers >= -1', w);
    }
    [windowLeft, windowRight] = w as [number, number];
  }

  let softcap: number | null = null;
  if (o.softcap !== undefined && o.softcap !== null) {
    if (typeof o.softcap !== 'number' || Number.isNaN(o.softcap)) typeError(WHERE, 'softcap to be a number >= 0 (0 = off)', o.softcap);
    if (!(o.softcap >= 0 && Number.isFinite(o.softcap))) rangeError(WHERE, 'softcap to be a finite number >= 0 (0 = off)', o.softcap);
    softcap = o.softcap;
  }
  const returnLse = boolOpt('returnLse', o.returnLse);
  const needWeights = boolOpt('needWeights', o.needWeights);

  const temps: Tensor[] = [];
  const lengths = tensorOrArray('keyPaddingLengths', o.keyPaddingLengths, 'int64', (x) => isInt(x) && x >= 0, 'integers >= 0', temps);
  const slopes = tensorOrArray('alibiSlopes', o.alibiSlopes, 'float64', Number.isFinite, 'finite numbers', temps);
  const args = [
    qi, ki, vi, mask instanceof Tensor ? mask.id : null, lengths, slopes, scale, isCausal, align, windowLeft, windowRight,
    softcap, dropoutP, enableGqa, returnLse,
  ];
  return { args, temps, returnLse, needWeights };
}

function assemble(p: Prepared, result: unknown, weights: number | null): Tensor | AttentionOutput {
  if (!p.returnLse && !p.needWeights) return Tensor._wrap(result as number);
  const out: AttentionOutput = p.returnLse
    ? { output: Tensor._wrap((result as number[])[0]), lse: Tensor._wrap((result as number[])[1]) }
    : { output: Tensor._wrap(result as number) };
  if (weights !== null) out.weights = Tensor._wrap(weights);
  return out;
}

function freeTemps(p: Prepared): void {
  for (const t of p.temps) t.dispose();
}

/**
 * Attention of `q` over `k`/`v` on the fused kernel: softmax(scale·q·kᵀ + masks)·v (see the
 * module doc for the exact formula, shapes and alignment). Returns the output tensor, or
 * `{ output, lse?, weights? }` when `returnLse` or `needWeights` is set.
 *
 * @example
 * // decoding: one new query against a cache of 4096 keys (bottom-right causal = sees all)
 * const out = F.scaledDotProductAttention(q1, cache.keys(), cache.values(), { isCausal: true });
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithLse & WithWeights): Required<AttentionOutput>;
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithLse): AttentionOutput & { lse: Tensor };
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithWeights): AttentionOutput & { weights: Tensor };
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions & { returnLse?: false; needWeights?: false }): Tensor;
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions): Tensor | AttentionOutput;
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions): Tensor | AttentionOutput {
  const p = prepare(q, k, v, opts);
  try {
    const result = native.op(OP.sdpa, ...p.args);
    let weights: number | null = null;
    if (p.needWeights) {
      try {
        weights = native.op(OP.weights, ...p.args) as number;
      } catch (e) {
        for (const id of Array.isArray(result) ? (result as number[]) : [result as number]) Tensor._wrap(id).dispose();
        throw e;
      }
    }
    return assemble(p, result, weights);
  } finally {
    freeTemps(p);
  }
}

/**
 * {@link scaledDotProductAttention} on the addon's native worker: the event loop keeps
 * running while the kernel computes. Same options and results.
 */
export function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithLse & WithWeights): Promise<Required<AttentionOutput>>;
export function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithLse): Promise<AttentionOutput & { lse: Tensor }>;
export function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions & WithWeights): Promise<AttentionOutput & { weights: Tensor }>;
export function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions & { returnLse?: false; needWeights?: false }): Promise<Tensor>;
export function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions): Promise<Tensor | AttentionOutput>;
export async function scaledDotProductAttentionAsync(q: Tensor, k: Tensor, v: Tensor, opts?: ScaledDotProductAttentionOptions): Promise<Tensor | AttentionOutput> {
  const p = prepare(q, k, v, opts);
  try {
    // Both jobs are queued before either runs; the worker runs them in order.
    const pending = [native.opAsync(OP.sdpa, ...p.args), p.needWeights ? native.opAsync(OP.weights, ...p.args) : Promise.resolve(null)];
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const s of settled) {
        if (s.status !== 'fulfilled' || s.value === null) continue;
        for (const id of Array.isArray(s.value) ? (s.value as number[]) : [s.value as number]) Tensor._wrap(id).dispose();
      }
      throw failed.reason;
    }
    const [result, weights] = settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
    return assemble(p, result, weights as number | null);
  } finally {
    freeTemps(p);
  }
}
