/**
 * Views and shape ops, joining and splitting, and gather/scatter-style selection. Names and
 * argument order follow torch.
 */
import { checkInt, checkShape, isInt, typeError } from '../errors';
import { Tensor } from '../tensor';
import { callT, callTs, callV, opId, tensorId as t } from './call';

const OP = {
  reshape: opId('reshape'), view: opId('view'), asStrided: opId('asStrided'), transpose: opId('transpose'), permute: opId('permute'),
  contiguous: opId('contiguous'), squeeze: opId('squeeze'), unsqueeze: opId('unsqueeze'), expand: opId('expand'),
  flatten: opId('flatten'), unflatten: opId('unflatten'), cat: opId('cat'), stack: opId('stack'), split: opId('split'),
  chunk: opId('chunk'), narrow: opId('narrow'), select: opId('select'), slice: opId('slice'), gather: opId('gather'),
  scatter: opId('scatter'), scatterAdd: opId('scatterAdd'), indexSelect: opId('indexSelect'), maskedFill: opId('maskedFill'),
  maskedFill_: opId('maskedFill_'), maskedSelect: opId('maskedSelect'), nonzero: opId('nonzero'), where: opId('where'),
  roll: opId('roll'), tril: opId('tril'), triu: opId('triu'), repeat: opId('repeat'), flip: opId('flip'), pad: opId('pad'),
  sort: opId('sort'), topk: opId('topk'),
};

function ints(where: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every(isInt)) typeError(where, 'an array of integers', v);
  return v as number[];
}
function dim(where: string, d: unknown): number {
  return checkInt(where, d);
}
function sizes(where: string, s: readonly number[] | number[]): number[] {
  const a = Array.isArray(s) ? [...s] : s;
  if (!Array.isArray(a) || !a.every((d) => isInt(d) && d >= -1)) typeError(where, 'a shape (integers, -1 to infer one)', s);
  return a as number[];
}

/** The same data with a new shape (one dimension may be -1); copies only when it must. */
export const reshape = (x: Tensor, shape: readonly number[]): Tensor => callT(OP.reshape, t('reshape', x), sizes('reshape: shape', shape));
/** A view with a new shape (fails for incompatible strides; see {@link reshape}). */
export const view = (x: Tensor, shape: readonly number[]): Tensor => callT(OP.view, t('view', x), sizes('view: shape', shape));
/** Swaps two dimensions. */
export const transpose = (x: Tensor, dim0: number, dim1: number): Tensor =>
  callT(OP.transpose, t('transpose', x), dim('transpose: dim0', dim0), dim('transpose: dim1', dim1));
/** Reorders dimensions. */
export const permute = (x: Tensor, dims: readonly number[]): Tensor => callT(OP.permute, t('permute', x), ints('permute: dims', [...dims]));
/** A contiguous copy (or `x` itself as a new handle when already contiguous). */
export const contiguous = (x: Tensor): Tensor => callT(OP.contiguous, t('contiguous', x));
/** Removes size-1 dimensions (all, or just `dim`). */
export const squeeze = (x: Tensor, d?: number): Tensor => callT(OP.squeeze, t('squeeze', x), d === undefined ? null : dim('squeeze: dim', d));
/** Inserts a size-1 dimension at `dim`. */
export const unsqueeze = (x: Tensor, d: number): Tensor => callT(OP.unsqueeze, t('unsqueeze', x), dim('unsqueeze: dim', d));
/** Broadcasts size-1 dimensions to `shape` without copying (-1 keeps a size). */
export const expand = (x: Tensor, shape: readonly number[]): Tensor => callT(OP.expand, t('expand', x), sizes('expand: shape', shape));
/** Flattens dimensions startDim..endDim into one. */
export const flatten = (x: Tensor, startDim = 0, endDim = -1): Tensor =>
  callT(OP.flatten, t('flatten', x), dim('flatten: startDim', startDim), dim('flatten: endDim', endDim));
/** Splits dimension `dim` into `sizes`. */
export const unflatten = (x: Tensor, d: number, shape: readonly number[]): Tensor =>
  callT(OP.unflatten, t('unflatten', x), dim('unflatten: dim', d), sizes('unflatten: sizes', shape));

function tensorList(where: string, xs: unknown): number[] {
  if (!Array.isArray(xs) || xs.length === 0) typeError(where, 'a non-empty array of Tensors', xs);
  return xs.map((x, i) => {
    if (!(x instanceof Tensor)) typeError(`${where}: element ${i}`, 'a Tensor', x);
    return x.id;
  });
}
/** Concatenates along an existing dimension. */
export const cat = (xs: readonly Tensor[], d = 0): Tensor => callT(OP.cat, tensorList('cat', xs), dim('cat: dim', d));
/** Stacks along a new dimension. */
export const stack = (xs: readonly Tensor[], d = 0): Tensor => callT(OP.stack, tensorList('stack', xs), dim('stack: dim', d));
/** Splits into pieces of `splitSize` (or of the listed sizes) along `dim`. */
export function split(x: Tensor, splitSize: number | readonly number[], d = 0): Tensor[] {
  if (Array.isArray(splitSize)) return callTs(OP.split, t('split', x), ints('split: sizes', [...splitSize]), dim('split: dim', d));
  return callTs(OP.split, t('split', x), checkInt('split: splitSize', splitSize, 1), dim('split: dim', d));
}
/** Splits into `chunks` nearly equal pieces along `dim`. */
export const chunk = (x: Tensor, chunks: number, d = 0): Tensor[] =>
  callTs(OP.chunk, t('chunk', x), checkInt('chunk: chunks', chunks, 1), dim('chunk: dim', d));
/** A view of `length` entries from `start` along `dim`. */
/**
 * A view of x's storage with the given sizes, strides and storage offset (torch.as_strided).
 * Elements may overlap (gradients then add up); a view past the storage's end is an error.
 */
export function asStrided(x: Tensor, size: readonly number[], stride: readonly number[], storageOffset = 0): Tensor {
  const sz = ints('asStrided: size', size);
  const st = ints('asStrided: stride', stride);
  if (sz.length !== st.length) throw new RangeError(`asStrided: expected as many strides as sizes, but got ${st.length} strides for ${sz.length} sizes`);
  if (sz.some((d) => d < 0) || st.some((d) => d < 0)) throw new RangeError(`asStrided: expected non-negative sizes and strides, but got [${sz.join(', ')}] and [${st.join(', ')}]`);
  return callT(OP.asStrided, t('asStrided', x), sz, st, checkInt('asStrided: storageOffset', storageOffset, 0));
}

export const narrow = (x: Tensor, d: number, start: number, length: number): Tensor =>
  callT(OP.narrow, t('narrow', x), dim('narrow: dim', d), checkInt('narrow: start', start), checkInt('narrow: length', length, 0));
/** The slice at `index` along `dim` (that dimension removed). */
export const select = (x: Tensor, d: number, index: number): Tensor =>
  callT(OP.select, t('select', x), dim('select: dim', d), checkInt('select: index', index));
/** `x[start:end:step]` along `dim` as a view. */
export function slice(x: Tensor, d: number, start?: number | null, end?: number | null, step = 1): Tensor {
  return callT(
    OP.slice, t('slice', x), dim('slice: dim', d),
    start == null ? null : checkInt('slice: start', start), end == null ? null : checkInt('slice: end', end),
    checkInt('slice: step', step, 1),
  );
}
/** Picks values along `dim` by an int64 index tensor of the same rank. */
export const gather = (x: Tensor, d: number, index: Tensor): Tensor => callT(OP.gather, t('gather', x), dim('gather: dim', d), t('gather: index', index));
/** A copy of `x` with `src` values written at `index` along `dim`. */
export const scatter = (x: Tensor, d: number, index: Tensor, src: Tensor): Tensor =>
  callT(OP.scatter, t('scatter', x), dim('scatter: dim', d), t('scatter: index', index), t('scatter: src', src));
/** A copy of `x` with `src` values added at `index` along `dim`. */
export const scatterAdd = (x: Tensor, d: number, index: Tensor, src: Tensor): Tensor =>
  callT(OP.scatterAdd, t('scatterAdd', x), dim('scatterAdd: dim', d), t('scatterAdd: index', index), t('scatterAdd: src', src));
/** Entries of `dim` listed in a 1-D int64 `index`. */
export const indexSelect = (x: Tensor, d: number, index: Tensor): Tensor =>
  callT(OP.indexSelect, t('indexSelect', x), dim('indexSelect: dim', d), t('indexSelect: index', index));
/** A copy with `value` where the bool `mask` (broadcast) is true. */
export function maskedFill(x: Tensor, mask: Tensor, value: number | boolean): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') typeError('maskedFill: value', 'a number', value);
  return callT(OP.maskedFill, t('maskedFill', x), t('maskedFill: mask', mask), value);
}
/** In place: writes `value` where `mask` is true; returns `x`. */
export function maskedFill_(x: Tensor, mask: Tensor, value: number | boolean): Tensor {
  if (typeof value !== 'number' && typeof value !== 'boolean') typeError('maskedFill_: value', 'a number', value);
  callV(OP.maskedFill_, t('maskedFill_', x), t('maskedFill_: mask', mask), value);
  return x;
}
/** The values where `mask` is true, as a 1-D tensor. */
export const maskedSelect = (x: Tensor, mask: Tensor): Tensor => callT(OP.maskedSelect, t('maskedSelect', x), t('maskedSelect: mask', mask));
/** Indices of non-zero entries, (n, ndim) int64. */
export const nonzero = (x: Tensor): Tensor => callT(OP.nonzero, t('nonzero', x));

/** `condition ? a : b` elementwise, broadcasting; scalars become 0-D tensors of the other side's dtype. */
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const c = t('where: condition', condition);
  const owned: Tensor[] = [];
  const asTensor = (v: Tensor | number, other: Tensor | number, name: string): number => {
    if (v instanceof Tensor) return v.id;
    if (typeof v !== 'number') typeError(`where: ${name}`, 'a Tensor or a number', v);
    const ref = other instanceof Tensor ? other : condition;
    const dtype = other instanceof Tensor ? ref.dtype : 'float32';
    const s = Tensor._scalar(v, dtype, ref.device);
    owned.push(s);
    return s.id;
  };
  try {
    return callT(OP.where, c, asTensor(a, b, 'input'), asTensor(b, a, 'other'));
  } finally {
    for (const o of owned) o.dispose();
  }
}
/** Rolls entries cyclically by `shifts` along `dims` (flattened when no dims). */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  const s = typeof shifts === 'number' ? [checkInt('roll: shifts', shifts)] : ints('roll: shifts', [...shifts]);
  const d = dims === undefined ? null : typeof dims === 'number' ? [checkInt('roll: dims', dims)] : ints('roll: dims', [...dims]);
  if (d !== null && d.length !== s.length) throw new RangeError(`roll: expected as many dims as shifts, but got ${d.length} dims and ${s.length} shifts`);
  return callT(OP.roll, t('roll', x), s, d);
}
/** Lower triangle (entries above diagonal `k` zeroed). */
export const tril = (x: Tensor, k = 0): Tensor => callT(OP.tril, t('tril', x), checkInt('tril: diagonal', k));
/** Upper triangle (entries below diagonal `k` zeroed). */
export const triu = (x: Tensor, k = 0): Tensor => callT(OP.triu, t('triu', x), checkInt('triu: diagonal', k));
/** Tiles the tensor `repeats` times along each dimension. */
export const repeat = (x: Tensor, repeats: readonly number[]): Tensor => callT(OP.repeat, t('repeat', x), checkShape('repeat: repeats', [...repeats]));
/** Reverses the order along `dims`. */
export const flip = (x: Tensor, dims: readonly number[]): Tensor => callT(OP.flip, t('flip', x), ints('flip: dims', [...dims]));

/** Padding modes of {@link pad}. */
export type PadMode = 'constant' | 'reflect' | 'replicate';
/**
 * Pads the last dimensions, as torch.nn.functional.pad: `pad` lists (left, right, top,
 * bottom, ...) starting from the last dimension.
 */
export function pad(x: Tensor, padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  const p = ints('pad: pad', [...padding]);
  if (p.length % 2 !== 0) throw new RangeError(`pad: expected an even number of padding sizes, but got ${p.length}`);
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate') typeError('pad: mode', "'constant', 'reflect' or 'replicate'", mode);
  return callT(OP.pad, t('pad', x), p, mode, value);
}
/** Sorted values and their indices along `dim`. */
export function sort(x: Tensor, d = -1, descending = false): { values: Tensor; indices: Tensor } {
  const [values, indices] = callTs(OP.sort, t('sort', x), dim('sort: dim', d), !!descending);
  return { values, indices };
}
/** The `k` largest (or smallest) values and their indices along `dim`. */
export function topk(x: Tensor, k: number, d = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
  const [values, indices] = callTs(OP.topk, t('topk', x), checkInt('topk: k', k, 0), dim('topk: dim', d), !!largest, !!sorted);
  return { values, indices };
}

