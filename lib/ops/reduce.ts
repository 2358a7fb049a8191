/**
 * Reductions: sum, mean, max/min, argmax, logsumexp, var/std, norm, and friends.
 * `dim` may be one dimension or a list; omitted, the whole tensor is reduced.
 */
import { DType, dtypeCode, isDType } from '../dtype';
import { checkInt, isInt, typeError } from '../errors';
import { Tensor } from '../tensor';
import { callT, callTs, opId, tensorId as t } from './call';

const OP = {
  sum: opId('sum'), mean: opId('mean'), prod: opId('prod'), max: opId('max'), min: opId('min'), amax: opId('amax'),
  amin: opId('amin'), argmax: opId('argmax'), argmin: opId('argmin'), logsumexp: opId('logsumexp'), var: opId('var'),
  std: opId('std'), norm: opId('norm'), all: opId('all'), any: opId('any'), cumsum: opId('cumsum'), cumprod: opId('cumprod'),
};

/** One dimension or several. */
export type Dims = number | readonly number[];

function dims(where: string, d: Dims | undefined | null): number[] | null {
  if (d === undefined || d === null) return null;
  if (isInt(d)) return [d];
  if (Array.isArray(d) && d.every(isInt)) return [...d];
  typeError(where, 'a dimension or an array of dimensions', d);
}
function optDim(where: string, d: number | undefined | null): number | null {
  return d === undefined || d === null ? null : checkInt(where, d);
}
function dt(where: string, d: DType | undefined): number | null {
  if (d === undefined) return null;
  if (!isDType(d)) typeError(where, 'a dtype', d);
  return dtypeCode(d);
}

/** Sum over `dim` (all when omitted). */
export const sum = (x: Tensor, dim?: Dims | null, keepdim = false, dtype?: DType): Tensor =>
  callT(OP.sum, t('sum', x), dims('sum: dim', dim), !!keepdim, dt('sum: dtype', dtype));
/** Mean over `dim` (all when omitted). */
export const mean = (x: Tensor, dim?: Dims | null, keepdim = false, dtype?: DType): Tensor =>
  callT(OP.mean, t('mean', x), dims('mean: dim', dim), !!keepdim, dt('mean: dtype', dtype));
/** Product over one dimension (all when omitted). */
export const prod = (x: Tensor, dim?: number | null, keepdim = false): Tensor => callT(OP.prod, t('prod', x), optDim('prod: dim', dim), !!keepdim);

/** Values and indices of a reduction along one dimension. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}
/** The maximum (a 0-D tensor), or along `dim` its values and indices. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return callT(OP.max, t('max', x), null, false);
  const [values, indices] = callTs(OP.max, t('max', x), checkInt('max: dim', dim), !!keepdim);
  return { values, indices };
}
/** The minimum (a 0-D tensor), or along `dim` its values and indices. */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return callT(OP.min, t('min', x), null, false);
  const [values, indices] = callTs(OP.min, t('min', x), checkInt('min: dim', dim), !!keepdim);
  return { values, indices };
}
/** Maximum values over `dim` (no indices). */
export const amax = (x: Tensor, dim: Dims = [], keepdim = false): Tensor => callT(OP.amax, t('amax', x), dims('amax: dim', dim), !!keepdim);
/** Minimum values over `dim` (no indices). */
export const amin = (x: Tensor, dim: Dims = [], keepdim = false): Tensor => callT(OP.amin, t('amin', x), dims('amin: dim', dim), !!keepdim);
/** Index of the maximum (of the flattened tensor when `dim` is omitted). */
export const argmax = (x: Tensor, dim?: number | null, keepdim = false): Tensor => callT(OP.argmax, t('argmax', x), optDim('argmax: dim', dim), !!keepdim);
/** Index of the minimum. */
export const argmin = (x: Tensor, dim?: number | null, keepdim = false): Tensor => callT(OP.argmin, t('argmin', x), optDim('argmin: dim', dim), !!keepdim);
/** log(sum(exp(x))) over `dim`, computed stably. */
export const logsumexp = (x: Tensor, dim: Dims, keepdim = false): Tensor => callT(OP.logsumexp, t('logsumexp', x), dims('logsumexp: dim', dim), !!keepdim);

/** Options of {@link variance} and {@link std}. */
export interface VarOptions {
  /** Divide by N - correction (default 1, Bessel's correction; 0 for the population variance). */
  correction?: number;
  /** Keep reduced dimensions with size 1. */
  keepdim?: boolean;
}
function varArgs(where: string, x: Tensor, dim: Dims | null | undefined, opts: VarOptions): unknown[] {
  return [t(where, x), dims(`${where}: dim`, dim), checkInt(`${where}: correction`, opts.correction ?? 1, 0), !!opts.keepdim];
}
/** Variance over `dim` (all when omitted). Named `var` on tensors. */
export const variance = (x: Tensor, dim?: Dims | null, opts: VarOptions = {}): Tensor => callT(OP.var, ...varArgs('var', x, dim, opts));
/** Standard deviation over `dim`. */
export const std = (x: Tensor, dim?: Dims | null, opts: VarOptions = {}): Tensor => callT(OP.std, ...varArgs('std', x, dim, opts));
/** The p-norm over `dim` (all when omitted); p defaults to 2. */
export function norm(x: Tensor, p: number = 2, dim?: Dims | null, keepdim = false): Tensor {
  if (typeof p !== 'number') typeError('norm: p', 'a number', p);
  return callT(OP.norm, t('norm', x), p, dims('norm: dim', dim), !!keepdim);
}
/** Whether all elements (along `dim`) are true. */
export const all = (x: Tensor, dim?: number | null, keepdim = false): Tensor => callT(OP.all, t('all', x), optDim('all: dim', dim), !!keepdim);
/** Whether any element (along `dim`) is true. */
export const any = (x: Tensor, dim?: number | null, keepdim = false): Tensor => callT(OP.any, t('any', x), optDim('any: dim', dim), !!keepdim);
/** Cumulative sum along `dim`. */
export const cumsum = (x: Tensor, dim: number): Tensor => callT(OP.cumsum, t('cumsum', x), checkInt('cumsum: dim', dim));
/** Cumulative product along `dim`. */
export const cumprod = (x: Tensor, dim: number): Tensor => callT(OP.cumprod, t('cumprod', x), checkInt('cumprod: dim', dim));
