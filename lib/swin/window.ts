/**
 * Swin Transformer window ops (native/src/kernels/swin), with the semantics of
 * microsoft/Swin-Transformer's models/swin_transformer.py.
 *
 * Legend: B batch, H × W the (padded) resolution, C channels, ws the window size,
 * nW = (H/ws)·(W/ws) windows per image, N = ws·ws tokens per window.
 *
 *   rollAndWindowPartition(x, ws, shift) = window_partition(torch.roll(x, (−shift, −shift), (1, 2)), ws)
 *                                          .view(−1, N, C)                    (B·nW, N, C)
 *   windowMergeAndRoll(w, ws, H, W, shift) = torch.roll(window_reverse(w, ws, H, W), (shift, shift), (1, 2))
 *
 * The fused pair moves each token once (shift and partition in one pass, as the official
 * CUDA kernel does); each is the other's backward. Window w = b·nW + wh·(W/ws) + ww holds
 * the rolled image's rows wh·ws … wh·ws + ws − 1, row-major inside the window.
 *
 * Stage rule of the official blocks: when a stage's resolution is not larger than the
 * window (min(H, W) ≤ ws), the window becomes the resolution and there is no shift
 * ({@link stageWindow}); the shifted blocks are the odd ones (shift = ws / 2, floored).
 *
 * @example
 * const x = tn.randn([8, 56, 56, 96]);
 * const windows = tn.swin.rollAndWindowPartition(x, 7, 3);             // (512, 49, 96)
 * const back = tn.swin.windowMergeAndRoll(windows, 7, 56, 56, 3);       // equals x
 * const mask = tn.swin.shiftedWindowMask(56, 56, 7, 3);                 // (64, 49, 49), 0 / −100
 */
import { dtypeCode, isFloating, isDType } from '../dtype';
import type { DType } from '../dtype';
import { checkInt, typeError } from '../errors';
import { pad } from '../ops/shape';
import { callT, opId, tensorId } from '../ops/call';
import { Tensor } from '../tensor';

const OP = {
  rollPartition: opId('swinRollAndWindowPartition'),
  mergeRoll: opId('swinWindowMergeAndRoll'),
  partition: opId('swinWindowPartition'),
  reverse: opId('swinWindowReverse'),
  mask: opId('swinShiftedWindowMask'),
  index: opId('swinRelativePositionIndex'),
  patchMerge: opId('swinPatchMerge'),
  patchUnmerge: opId('swinPatchUnmerge'),
};

const windowSizeArg = (where: string, ws: unknown): number => checkInt(`${where}: windowSize`, ws, 1);

/**
 * Splits (B, H, W, C) into non-overlapping ws × ws windows: (B·nW, ws, ws, C), as the
 * official `window_partition`. H and W must be multiples of ws ({@link padToWindow}).
 * Differentiable.
 */
export function windowPartition(x: Tensor, windowSize: number): Tensor {
  return callT(OP.partition, tensorId('windowPartition: x', x), windowSizeArg('windowPartition', windowSize));
}

/**
 * Inverse of {@link windowPartition}: windows (B·nW, ws, ws, C) or (B·nW, ws·ws, C) back to
 * (B, H, W, C), as the official `window_reverse`. Differentiable.
 */
export function windowReverse(windows: Tensor, windowSize: number, H: number, W: number): Tensor {
  return callT(OP.reverse, tensorId('windowReverse: windows', windows), windowSizeArg('windowReverse', windowSize),
    checkInt('windowReverse: H', H, 1), checkInt('windowReverse: W', W, 1));
}

/**
 * Cyclic shift by −shift on H and W (torch.roll) and window partition in one pass:
 * (B, H, W, C) → (B·nW, ws·ws, C). shift 0 is {@link windowPartition} (flattened windows).
 * Any integer shift is taken modulo H and W. Differentiable (its backward is
 * {@link windowMergeAndRoll}).
 */
export function rollAndWindowPartition(x: Tensor, windowSize: number, shift: number): Tensor {
  return callT(OP.rollPartition, tensorId('rollAndWindowPartition: x', x), windowSizeArg('rollAndWindowPartition', windowSize),
    checkInt('rollAndWindowPartition: shift', shift));
}

/**
 * Window reverse and cyclic shift back (+shift) in one pass: windows (B·nW, ws·ws, C) or
 * (B·nW, ws, ws, C) → (B, H, W, C). The exact inverse of {@link rollAndWindowPartition} with
 * the same shift. Differentiable.
 */
export function windowMergeAndRoll(windows: Tensor, windowSize: number, H: number, W: number, shift: number): Tensor {
  return callT(OP.mergeRoll, tensorId('windowMergeAndRoll: windows', windows), windowSizeArg('windowMergeAndRoll', windowSize),
    checkInt('windowMergeAndRoll: H', H, 1), checkInt('windowMergeAndRoll: W', W, 1), checkInt('windowMergeAndRoll: shift', shift));
}

/** Options of {@link shiftedWindowMask}. */
export interface ShiftedWindowMaskOptions {
  /**
   * The value for pairs of tokens from different regions: −100 (default, as the official
   * code; softmax gives them ~e⁻¹⁰⁰ ≈ 0), any other number, or '-inf' (exactly 0 weight).
   */
  fill?: number | '-inf';
  /** A floating dtype. Default 'float32'. */
  dtype?: DType;
}

/**
 * The attention mask of shifted windows, (nW, N, N), as the official `attn_mask`: the
 * padded image's rows and columns are cut by the slices (0, −ws), (−ws, −shift),
 * (−shift, None) into 3 × 3 labelled regions, the label image is partitioned, and tokens of
 * one window attend to each other only when their labels agree (0), else `fill`.
 * shift must be in [0, ws); shift 0 gives zeros (the official code then passes no mask).
 *
 * @example
 * const mask = tn.swin.shiftedWindowMask(56, 56, 7, 3);                  // (64, 49, 49)
 * const hard = tn.swin.shiftedWindowMask(56, 56, 7, 3, { fill: '-inf' });
 */
export function shiftedWindowMask(H: number, W: number, windowSize: number, shift: number, opts: ShiftedWindowMaskOptions = {}): Tensor {
  const where = 'shiftedWindowMask';
  if (opts === null || typeof opts !== 'object') typeError(`${where}: options`, 'an object', opts);
  const ws = windowSizeArg(where, windowSize);
  const s = checkInt(`${where}: shift`, shift, 0, ws - 1);
  let fill = -100;
  if (opts.fill !== undefined) {
    if (opts.fill === '-inf') fill = -Infinity;
    else if (typeof opts.fill === 'number' && !Number.isNaN(opts.fill)) fill = opts.fill;
    else typeError(`${where}: fill`, "a number or '-inf'", opts.fill);
  }
  const dtype = opts.dtype ?? 'float32';
  if (!isDType(dtype) || !isFloating(dtype)) typeError(`${where}: dtype`, 'a floating dtype', dtype);
  return callT(OP.mask, checkInt(`${where}: H`, H, 1), checkInt(`${where}: W`, W, 1), ws, s, fill, dtypeCode(dtype));
}

/**
 * The relative position index of a window, int64 (N, N) with N = Wh·Ww: for tokens p = (hp, wp)
 * and q = (hq, wq), index = (hp − hq + Wh − 1)·(2Ww − 1) + (wp − wq + Ww − 1), the row of the
 * relative position bias table ((2Wh − 1)(2Ww − 1), nH) that scores p attending to q (the
 * official `relative_position_index` buffer).
 */
export function relativePositionIndex(windowSize: number | readonly [number, number]): Tensor {
  const where = 'relativePositionIndex';
  const [wh, ww] = typeof windowSize === 'number' ? [windowSize, windowSize] : Array.isArray(windowSize) && windowSize.length === 2
    ? windowSize : typeError(`${where}: windowSize`, 'an integer or [Wh, Ww]', windowSize);
  return callT(OP.index, checkInt(`${where}: windowSize`, wh, 1), checkInt(`${where}: windowSize`, ww, 1));
}

/** What {@link padToWindow} returns. */
export interface PaddedToWindow {
  /** (B, H + padH, W + padW, C): the input itself when no padding was needed. */
  x: Tensor;
  /** Rows of zeros added at the bottom. */
  padH: number;
  /** Columns of zeros added on the right. */
  padW: number;
}

/**
 * Pads (B, H, W, C) with zeros on the right and the bottom up to multiples of the window, as
 * the detection variants of Swin do (`F.pad(x, (0, 0, 0, padW, 0, padH))`), so any
 * resolution can be partitioned. Crop the result back after the reverse with
 * `y.index(':', `:${H}`, `:${W}`)`. When H and W are already multiples, returns the input
 * itself (not a copy) with padH = padW = 0. Differentiable.
 *
 * @example
 * const { x: xp, padH, padW } = tn.swin.padToWindow(tn.randn([1, 30, 45, 96]), 7);   // (1, 35, 49, 96), 5, 4
 */
export function padToWindow(x: Tensor, windowSize: number): PaddedToWindow {
  const where = 'padToWindow';
  tensorId(`${where}: x`, x);
  const ws = windowSizeArg(where, windowSize);
  const shape = x.shape;
  if (shape.length !== 4) throw new RangeError(`${where}: expected x of shape (B, H, W, C), but got shape [${shape.join(', ')}]`);
  const padH = (ws - (shape[1] % ws)) % ws;
  const padW = (ws - (shape[2] % ws)) % ws;
  if (padH === 0 && padW === 0) return { x, padH, padW };
  return { x: pad(x, [0, 0, 0, padW, 0, padH]), padH, padW };
}

/** What {@link stageWindow} returns. */
export interface StageWindow {
  windowSize: number;
  shiftSize: number;
}

/**
 * The official block rule for a stage's resolution: when min(H, W) ≤ windowSize, no shift
 * and the window becomes min(H, W) (one window covers the stage); otherwise the given window
 * and shift. (In Swin-T at 224², stage 4 is 7 × 7 with window 7: its blocks do not shift.)
 */
export function stageWindow(H: number, W: number, windowSize: number, shiftSize: number): StageWindow {
  const where = 'stageWindow';
  const r = Math.min(checkInt(`${where}: H`, H, 1), checkInt(`${where}: W`, W, 1));
  const ws = windowSizeArg(where, windowSize);
  const s = checkInt(`${where}: shiftSize`, shiftSize, 0, ws - 1);
  return r <= ws ? { windowSize: r, shiftSize: 0 } : { windowSize: ws, shiftSize: s };
}

/**
 * The gather of the official `PatchMerging`, in one pass: (B, H, W, C) → (B, ⌈H/2⌉, ⌈W/2⌉, 4C)
 * with the channels in the official order
 * `cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)`
 * (then LayerNorm(4C) and Linear(4C → 2C, no bias) make the layer). An odd H or W is first
 * padded with zeros at the bottom/right, as the detection variants do. Differentiable.
 *
 * @example
 * const y = tn.swin.patchMerge(tn.randn([8, 56, 56, 96]));   // (8, 28, 28, 384)
 */
export function patchMerge(x: Tensor): Tensor {
  const where = 'patchMerge';
  tensorId(`${where}: x`, x);
  const shape = x.shape;
  if (shape.length !== 4) throw new RangeError(`${where}: expected x of shape (B, H, W, C), but got shape [${shape.join(', ')}]`);
  const padH = shape[1] % 2;
  const padW = shape[2] % 2;
  if (padH === 0 && padW === 0) return callT(OP.patchMerge, x.id);
  const xp = pad(x, [0, 0, 0, padW, 0, padH]);
  try {
    return callT(OP.patchMerge, xp.id);
  } finally {
    xp.dispose();
  }
}

/**
 * The inverse of {@link patchMerge} for even H and W: (B, H/2, W/2, 4C) → (B, H, W, C).
 * Differentiable.
 */
export function patchUnmerge(merged: Tensor, H: number, W: number): Tensor {
  return callT(OP.patchUnmerge, tensorId('patchUnmerge: merged', merged), checkInt('patchUnmerge: H', H, 0), checkInt('patchUnmerge: W', W, 0));
}
