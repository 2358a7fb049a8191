/**
 * Python-style indexing: `x.index(0, '1:3', null, '...', idx)` is `x[0, 1:3, None, ..., idx]`.
 *
 * A spec is: an integer (selects, dropping the dimension), a slice string `'start:end:step'`
 * or `{ start, end, step }`, `null` (a new size-1 dimension), `'...'` (all remaining
 * dimensions), or a Tensor (int64 indices or a bool mask: advanced indexing, as PyTorch).
 * Basic specs give views; tensor specs copy.
 */
import { describe, isInt } from '../errors';
import { Tensor } from '../tensor';
import { callT, callV, opId } from './call';

/** A slice: `{ start, end, step }`, any part optional. */
export interface Slice {
  start?: number | null;
  end?: number | null;
  step?: number;
}

/** One entry of an index expression. */
export type IndexSpec = number | string | null | Slice | Tensor;

const OP = { index: opId('index'), indexPut_: opId('indexPut_'), select: opId('select'), slice: opId('slice'), unsqueeze: opId('unsqueeze'), copy_: opId('copy_'), fill_: opId('fill_') };

function parseSlice(s: string): Slice {
  const parts = s.split(':');
  if (parts.length < 2 || parts.length > 3) throw new TypeError(`index: expected a slice such as '1:3' or '::2', but got '${s}'`);
  const num = (p: string | undefined): number | null => {
    if (p === undefined || p.trim() === '') return null;
    const v = Number(p);
    if (!isInt(v)) throw new TypeError(`index: expected integers in the slice '${s}', but got '${p}'`);
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step < 1) throw new RangeError(`index: expected a positive slice step, but got ${step} in '${s}'`);
  return { start: num(parts[0]), end: num(parts[1]), step };
}

function isSlice(s: unknown): s is Slice {
  return s !== null && typeof s === 'object' && !(s instanceof Tensor) && Object.getPrototypeOf(s) === Object.prototype;
}

/** Applies basic specs as views; returns the view and the tensor indices per remaining dim. */
function resolve(x: Tensor, specs: IndexSpec[]): { view: Tensor; advanced: (Tensor | null)[]; owned: Tensor[] } {
  const rank = x.dim();
  const consumed = specs.filter((s) => s !== null && s !== '...').reduce<number>((n, s) => n + (s instanceof Tensor && s.dtype === 'bool' ? s.dim() : 1), 0);
  if (specs.filter((s) => s === '...').length > 1) throw new TypeError("index: an index can have only one '...'");
  if (consumed > rank) throw new RangeError(`index: too many indices for a ${rank}-D tensor: got ${consumed}`);
  const owned: Tensor[] = [];
  let view = x;
  let dim = 0; // position in the current view
  let source = 0; // position in x, for messages
  const advanced: (Tensor | null)[] = [];
  const replace = (next: Tensor): void => {
    owned.push(next);
    view = next;
  };
  for (const spec of specs) {
    if (spec === '...') {
      const skip = rank - consumed;
      for (let i = 0; i < skip; i++) advanced.push(null);
      dim += skip;
      source += skip;
    } else if (spec === null) {
      replace(callT(OP.unsqueeze, view.id, dim));
      advanced.push(null);
      dim += 1;
    } else if (typeof spec === 'number') {
      if (!isInt(spec)) throw new TypeError(`index: expected integer indices, but got ${describe(spec)}`);
      const size = view.shape[dim];
      if (spec < -size || spec >= size) throw new RangeError(`index: index ${spec} is out of bounds for dimension ${source} with size ${size}`);
      replace(callT(OP.select, view.id, dim, spec));
      source += 1;
    } else if (typeof spec === 'string' || isSlice(spec)) {
      const s = typeof spec === 'string' ? parseSlice(spec) : spec;
      const step = s.step ?? 1;
      if (!isInt(step) || step < 1) throw new RangeError(`index: expected a positive slice step, but got ${describe(step)}`);
      replace(callT(OP.slice, view.id, dim, s.start ?? null, s.end ?? null, step));
      advanced.push(null);
      dim += 1;
      source += 1;
    } else if (spec instanceof Tensor) {
      advanced.push(spec);
      const n = spec.dtype === 'bool' ? spec.dim() : 1;
      for (let i = 1; i < n; i++) advanced.push(null);
      dim += n;
      source += n;
    } else {
      throw new TypeError(`index: expected an integer, a slice, null, '...' or a Tensor, but got ${describe(spec)}`);
    }
  }
  return { view, advanced, owned };
}

/** `x[...specs]`: views for basic indexing, a copy with tensor indices. */
export function index(x: Tensor, ...specs: IndexSpec[]): Tensor {
  const { view, advanced, owned } = resolve(x, specs);
  const hasAdvanced = advanced.some((a) => a !== null);
  try {
    if (!hasAdvanced) {
      // The last view is the result: keep it, free the intermediate ones.
      if (view === x) return callT(OP.slice, x.id, 0, null, null, 1);
      owned.pop();
      return view;
    }
    while (advanced.length && advanced[advanced.length - 1] === null) advanced.pop();
    return callT(OP.index, view.id, advanced.map((a) => (a === null ? null : a.id)));
  } finally {
    for (const o of owned) o.dispose();
  }
}

/** In place: `x[...specs] = value` (a Tensor broadcast to the selection, or a number). Returns `x`. */
export function indexPut_(x: Tensor, specs: IndexSpec[], value: Tensor | number | boolean): Tensor {
  if (!Array.isArray(specs)) throw new TypeError(`indexPut_: expected an array of index specs, but got ${describe(specs)}`);
  const { view, advanced, owned } = resolve(x, specs);
  const scalar = !(value instanceof Tensor);
  if (scalar && typeof value !== 'number' && typeof value !== 'boolean') throw new TypeError(`indexPut_: expected a Tensor or a number value, but got ${describe(value)}`);
  const v = scalar ? Tensor._scalar(value as number, x.dtype, x.device) : (value as Tensor);
  try {
    if (advanced.some((a) => a !== null)) {
      while (advanced.length && advanced[advanced.length - 1] === null) advanced.pop();
      callV(OP.indexPut_, view.id, advanced.map((a) => (a === null ? null : a.id)), v.id, false);
    } else {
      callV(OP.copy_, view.id, v.id);
    }
    return x;
  } finally {
    for (const o of owned) o.dispose();
    if (scalar) v.dispose();
  }
}
