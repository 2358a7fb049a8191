/**
 * Window attention of Swin Transformer (the official `WindowAttention.forward` after the
 * qkv projection), fused:
 *
 *   bias = table[index.view(−1)].view(N, N, nH).permute(2, 0, 1)          (nH, N, N)
 *   out  = softmax(scale · q·kᵀ + bias + mask[window]) · v
 *
 * Shapes: q, k (B·nW, nH, N, d), v (B·nW, nH, N, dv), relativePositionBiasTable
 * ((2Wh − 1)(2Ww − 1), nH), relativePositionIndex (N, N) (see
 * {@link relativePositionIndex}), mask (nW, N, N) or none (see {@link shiftedWindowMask});
 * window i of the batch uses mask[i mod nW], as the official view(B, nW, nH, N, N).
 *
 * The fused path runs the flash attention kernel with the heads of every window of an image
 * side by side (q viewed as (B, nW·nH, N, d)) and bias + mask as one (1, nW·nH, N, N)
 * additive mask broadcast over the batch: the forward never builds the (B·nW, nH, N, N)
 * score tensor. Differentiable in q, k, v and the table (its gradient is the score gradient
 * summed over the batch and gathered back by index).
 *
 * @example
 * const index = tn.swin.relativePositionIndex(7);                         // (49, 49)
 * const table = tn.zeros([13 * 13, 3], { requiresGrad: true });
 * const mask = tn.swin.shiftedWindowMask(56, 56, 7, 3);                   // (64, 49, 49)
 * const out = tn.swin.windowAttention(q, k, v, table, index, { mask, scale: 32 ** -0.5 });   // q (512, 3, 49, 32)
 */
import { checkBool, checkNumber, typeError } from '../errors';
import { callT, callTAsync, opId, tensorId } from '../ops/call';
import { Tensor } from '../tensor';

const OP = {
  fused: opId('swinWindowAttention'),
  reference: opId('swinWindowAttentionReference'),
};

/** Options of {@link windowAttention}. */
export interface WindowAttentionOptions {
  /** The shift mask (nW, N, N), additive (0 / −100 or −∞); none for unshifted blocks. */
  mask?: Tensor | null;
  /** Multiplies q·kᵀ (the official `qk_scale or head_dim ** -0.5`). Default 1/√d. */
  scale?: number | null;
  /**
   * false runs the unfused math path, op for op as the official code (q·scale @ kᵀ, + bias,
   * + mask, softmax, @ v), which materialises (B·nW, nH, N, N): for comparison. Default true.
   */
  fused?: boolean;
}

const KNOWN = new Set(['mask', 'scale', 'fused']);

function args(
  where: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  relativePositionBiasTable: Tensor,
  relativePositionIndex: Tensor,
  opts: WindowAttentionOptions,
): [number, ...unknown[]] {
  if (opts === null || typeof opts !== 'object') typeError(`${where}: options`, 'an object', opts);
  for (const key of Object.keys(opts)) if (!KNOWN.has(key)) typeError(`${where}: options`, `one of ${[...KNOWN].join(', ')}`, key);
  const mask = opts.mask ?? null;
  if (mask !== null && !(mask instanceof Tensor)) typeError(`${where}: mask`, 'a Tensor or null', mask);
  let scale: number | null = null;
  if (opts.scale !== undefined && opts.scale !== null) {
    scale = checkNumber(`${where}: scale`, opts.scale);
    if (!Number.isFinite(scale)) typeError(`${where}: scale`, 'a finite number', scale);
  }
  const fused = opts.fused === undefined ? true : checkBool(`${where}: fused`, opts.fused);
  return [
    fused ? OP.fused : OP.reference,
    tensorId(`${where}: q`, q),
    tensorId(`${where}: k`, k),
    tensorId(`${where}: v`, v),
    tensorId(`${where}: relativePositionBiasTable`, relativePositionBiasTable),
    tensorId(`${where}: relativePositionIndex`, relativePositionIndex),
    mask === null ? null : mask.id,
    scale,
  ];
}

/** Fused window attention with relative position bias and the shift mask (see the module doc). */
export function windowAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  relativePositionBiasTable: Tensor,
  relativePositionIndex: Tensor,
  opts: WindowAttentionOptions = {},
): Tensor {
  const [op, ...rest] = args('windowAttention', q, k, v, relativePositionBiasTable, relativePositionIndex, opts);
  return callT(op, ...rest);
}

/**
 * {@link windowAttention} on the addon's native worker thread: the event loop keeps turning
 * while it computes. The inputs must stay alive (not disposed) until the promise settles.
 */
export function windowAttentionAsync(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  relativePositionBiasTable: Tensor,
  relativePositionIndex: Tensor,
  opts: WindowAttentionOptions = {},
): Promise<Tensor> {
  try {
    const [op, ...rest] = args('windowAttentionAsync', q, k, v, relativePositionBiasTable, relativePositionIndex, opts);
    return callTAsync(op, ...rest);
  } catch (e) {
    return Promise.reject(e);
  }
}
