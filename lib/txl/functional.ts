/**
 * Transformer-XL's relative attention (Dai et al., 2019; kimiyoung/transformer-xl) as ops.
 *
 * Layout: the official code keeps (len, batch, heads, d); these ops take the attention layout
 * (B, H, L, d), which the modules reach with views (no copies).
 *
 * relShift (the official `_rel_shift`): for scores x (qlen, klen, …) against positions
 * klen−1 … 0, out[i, j] = x[i, j + qlen − 1 − i] where j ≤ i + mlen (mlen = klen − qlen), the
 * entries the causal mask keeps. The official code builds it by padding a zero column and
 * re-viewing (a full copy); here the kept region is a strided VIEW of x — row i starts qlen−1−i
 * elements later and rows advance by klen − 1 — and only the masked corner is filled in.
 *
 * relativePositionalAttention: per head,
 *   score[i, j] = ((q_i + rwBias)·k_j + (q_i + rrBias)·r_{qlen−1−i+j}) · scale,  j ≤ i + mlen
 *   out = softmax_j(score) · v
 * The BD term (q + rrBias)·rᵀ is one (B, H, qlen, klen) product; its shifted view enters the
 * fused attention kernel as an additive bias read through strides, and the kernel does AC,
 * the mask, the online softmax and ·v without an AC, score or probability tensor. Backward
 * goes through the kernel's recomputing backward (gradients of q, k, v and the bias) and the
 * view. Python materialises AC, BD, the padded and shifted BD, their sum and the probabilities.
 */
import { arange, zeros } from '../creation';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { scaledDotProductAttention, scaledDotProductAttentionAsync } from '../nn/attention';
import { cat, where } from '../ops/shape';
import { Tensor } from '../tensor';

/**
 * The strided view of x whose dims (qDim, qDim + 1) = (qlen, klen) are shifted by
 * qlen − 1 − i − extra along klen: view[…, i, j, …] = x[…, i, j + qlen − 1 − i − extra, …] on
 * the kept region (extra 1 gives the official code's next-row values beyond it). Needs rows of
 * the (qlen, klen) plane laid out back to back: stride(qDim) = klen · stride(qDim + 1).
 */
function shiftedView(x: Tensor, qDim: number, extra: number): Tensor {
  const shape = x.shape;
  const st = x.stride();
  const q = shape[qDim];
  const k = shape[qDim + 1];
  if (st[qDim] !== k * st[qDim + 1]) throw new Error('relShift: internal error: the (qlen, klen) plane is not row-major');
  const strides = [...st];
  strides[qDim] = st[qDim] - st[qDim + 1]; // rows advance by klen − 1
  return x.asStrided(shape, strides, x.storageOffset() + (q - 1 - extra) * st[qDim + 1]);
}

/** (qlen, klen) bool: j ≤ i + (klen − qlen) + offset. */
function keptRegion(q: number, k: number, offset: number): Tensor {
  const i = arange(0, q, 1, { dtype: 'int64' }).view(q, 1);
  const j = arange(0, k, 1, { dtype: 'int64' }).view(1, k);
  return j.le(i.add(k - q + offset));
}

/**
 * The official `_rel_shift` of scores x (qlen, klen, …): see the module documentation. With
 * `zeroTriu` the entries beyond the kept region are zero (the official `zero_triu`); without,
 * they are what the official pad-and-view leaves there (0 right after the region, then the next
 * row's values), so outputs match it everywhere.
 */
export function relShift(x: Tensor, opts: { zeroTriu?: boolean } = {}): Tensor {
  if (!(x instanceof Tensor)) typeError('relShift', 'a Tensor (qlen, klen, ...)', x);
  if (x.ndim < 2) throw new RangeError(`relShift: expected a tensor of at least 2 dimensions (qlen, klen, ...), but got shape [${x.shape.join(', ')}]`);
  const [q, k] = x.shape;
  // Transformer-XL always has klen = mlen + qlen ≥ qlen; the pad-and-view result for klen < qlen
  // wraps several rows and is not a relative shift.
  if (k < q) throw new RangeError(`relShift: expected klen ≥ qlen (keys are memory + segment), but got shape [${x.shape.join(', ')}]`);
  if (q === 0 || k === 0) return x.clone();
  return tidy(() => {
    const c = x.contiguous();
    const bcast = [q, k, ...x.shape.slice(2).map(() => 1)];
    const kept = keptRegion(q, k, 0).view(...bcast);
    const zero = zeros([], { dtype: x.dtype, device: x.device });
    const main = shiftedView(c, 0, 0);
    if (opts.zeroTriu || q === 1) return where(kept, main, zero);
    // Beyond the region: 0 right after it, then the following row's values (offset one less).
    const pad = keptRegion(q, k, 1).view(...bcast);
    return where(kept, main, where(pad, zero, shiftedView(c, 0, 1)));
  });
}

/** Options of {@link relativePositionalAttention}. */
export interface RelativeAttentionOptions {
  /** Multiplies the scores (default 1/√d). */
  scale?: number;
  /**
   * The official `same_length`: every query sees the same number of keys (the `memLen`
   * most recent ones and itself), so evaluation at the segment start and end matches.
   */
  sameLength?: boolean;
  /** The model's memory length (needed with sameLength). */
  memLen?: number;
  /** Dropout on the attention probabilities (the official `dropatt`); pass 0 when evaluating. */
  dropoutP?: number;
}

interface Checked {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  D: number;
  scale: number;
  window: [number, number] | null;
  dropoutP: number;
}

function checkArgs(where: string, q: Tensor, k: Tensor, v: Tensor, r: Tensor, rwBias: Tensor, rrBias: Tensor, o: RelativeAttentionOptions): Checked {
  const named: Array<[string, Tensor]> = [['q', q], ['k', k], ['v', v], ['r', r], ['rwBias', rwBias], ['rrBias', rrBias]];
  for (const [n, t] of named) if (!(t instanceof Tensor)) typeError(`${where}: ${n}`, 'a Tensor', t);
  const shape = (t: Tensor): string => `[${t.shape.join(', ')}]`;
  if (q.ndim !== 4) throw new RangeError(`${where}: q: expected (B, H, qlen, d), but got shape ${shape(q)}`);
  const [B, H, Lq, D] = q.shape;
  if (k.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D) throw new RangeError(`${where}: k: expected (${B}, ${H}, klen, ${D}), but got shape ${shape(k)}`);
  const Lk = k.shape[2];
  if (v.ndim !== 4 || v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== Lk) throw new RangeError(`${where}: v: expected (${B}, ${H}, ${Lk}, dv), but got shape ${shape(v)}`);
  if (Lk < Lq) throw new RangeError(`${where}: expected klen (memory + segment) ≥ qlen, but got klen ${Lk} and qlen ${Lq}`);
  if (r.ndim !== 3 || r.shape[0] !== H || r.shape[1] !== Lk || r.shape[2] !== D) throw new RangeError(`${where}: r: expected the projected positions (${H}, ${Lk}, ${D}) = (H, klen, d), but got shape ${shape(r)}`);
  for (const [n, t] of [['rwBias', rwBias], ['rrBias', rrBias]] as const) {
    if (t.ndim !== 2 || t.shape[0] !== H || t.shape[1] !== D) throw new RangeError(`${where}: ${n}: expected (${H}, ${D}) = (H, d), but got shape ${shape(t)}`);
  }
  for (const [n, t] of named) if (t.dtype !== q.dtype) throw new TypeError(`${where}: ${n}: expected dtype ${q.dtype} like q, but got ${t.dtype}`);
  const scale = checkNumber(`${where}: scale`, o.scale ?? 1 / Math.sqrt(D));
  const dropoutP = checkNumber(`${where}: dropoutP`, o.dropoutP ?? 0);
  let window: [number, number] | null = null;
  if (o.sameLength) {
    const memLen = checkInt(`${where}: memLen`, o.memLen, 0);
    // Official same_length: with mask_len = klen − memLen > 0, query i sees keys j > i − (qlen − mask_len),
    // i.e. (at its position i + mlen) the memLen keys before it and itself.
    if (Lk - memLen > 0) window = [memLen - 1 < 0 ? 0 : memLen - 1, -1];
  }
  return { B, H, Lq, Lk, D, scale, window, dropoutP };
}

/**
 * The BD bias (B, H, qlen, klen) as a shifted view of (q + rrBias)·scale·rᵀ. r is shared by the
 * batch, so the batch folds into the rows: one (B·qlen, d) × (d, klen) product per head instead
 * of B·H small ones; the result stays in (H, B, qlen, klen) memory and is viewed as (B, H, …).
 */
function positionBias(q: Tensor, r: Tensor, rrBias: Tensor, c: Checked): Tensor {
  const qr = q.permute(1, 0, 2, 3).add(rrBias.view(c.H, 1, 1, c.D)).mul(c.scale).reshape(c.H, c.B * c.Lq, c.D);
  const bdRaw = qr.matmul(r.transpose(1, 2)).view(c.H, c.B, c.Lq, c.Lk).permute(1, 0, 2, 3);
  return shiftedView(bdRaw, 2, 0);
}

/**
 * Transformer-XL relative attention; see the module documentation. q (B, H, qlen, d), k and
 * v (B, H, klen, d) with klen = mlen + qlen (memory first), r (H, klen, d) the projected
 * positional embeddings of distances klen−1 … 0, rwBias and rrBias (H, d). The causal mask
 * with memory (the official `dec_attn_mask`) is built in. Returns (B, H, qlen, d).
 */
export function relativePositionalAttention(q: Tensor, k: Tensor, v: Tensor, r: Tensor, rwBias: Tensor, rrBias: Tensor, opts: RelativeAttentionOptions = {}): Tensor {
  const c = checkArgs('relativePositionalAttention', q, k, v, r, rwBias, rrBias, opts);
  return tidy(() =>
    scaledDotProductAttention(q.add(rwBias.view(c.H, 1, c.D)), k, v, {
      attnMask: positionBias(q, r, rrBias, c), isCausal: true, scale: c.scale, dropoutP: c.dropoutP, slidingWindow: c.window,
    }),
  );
}

/** {@link relativePositionalAttention} with the attention kernel on the native worker. */
export async function relativePositionalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, r: Tensor, rwBias: Tensor, rrBias: Tensor, opts: RelativeAttentionOptions = {}): Promise<Tensor> {
  const c = checkArgs('relativePositionalAttentionAsync', q, k, v, r, rwBias, rrBias, opts);
  const [qw, bias] = tidy(() => [q.add(rwBias.view(c.H, 1, c.D)), positionBias(q, r, rrBias, c)]);
  try {
    return await scaledDotProductAttentionAsync(qw, k, v, { attnMask: bias, isCausal: true, scale: c.scale, dropoutP: c.dropoutP, slidingWindow: c.window });
  } finally {
    qw.dispose();
    bias.dispose();
  }
}

/**
 * The official positional embedding for klen keys: positions klen−1 … 0 (clamped to clampLen
 * when > 0), cat[sin(pos·f), cos(pos·f)] with f = 1/10000^(2i/dModel). Returns (klen, 1, dModel).
 */
export function relativePositions(klen: number, dModel: number, opts: { clampLen?: number; dtype?: 'float32' | 'float64' } = {}): Tensor {
  checkInt('relativePositions: klen', klen, 0);
  checkInt('relativePositions: dModel', dModel, 2);
  if (dModel % 2 !== 0) throw new RangeError(`relativePositions: expected an even dModel, but got ${dModel}`);
  const clamp = opts.clampLen ?? 0;
  return tidy(() => {
    let pos = arange(klen - 1, -1, -1, { dtype: opts.dtype ?? 'float32' });
    if (clamp > 0) pos = pos.clamp(null, clamp);
    const invFreq = arange(0, dModel, 2, { dtype: 'float64' }).div(dModel).mul(Math.log(10000)).neg().exp().to(opts.dtype ?? 'float32');
    const x = pos.view(klen, 1).mul(invFreq.view(1, -1));
    return cat([x.sin(), x.cos()], -1).view(klen, 1, dModel);
  });
}
