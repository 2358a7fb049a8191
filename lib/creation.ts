/**
 * Creating tensors: from JS data ({@link tensor}) and by shape (zeros, ones, full, arange,
 * random, ...). Options follow PyTorch: `{ dtype, device, requiresGrad }`.
 */
import { types } from 'node:util';

import { native } from './binding';
import { AnyTypedArray, DType, dtypeCode, dtypeOfTypedArray, INT_RANGE, isDType, isFloating } from './dtype';
import { checkBool, checkInt, checkNumber, checkShape, describe, rangeError, typeError } from './errors';
import { callT, callV, opId } from './ops/call';
import { Tensor } from './tensor';

/** Where a tensor lives: `'cpu'`, or `'cuda'` / `'cuda:N'` when libtorch has CUDA. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Options shared by creation functions. */
export interface TensorOptions {
  /** Element type (default float32, or what the data implies). */
  dtype?: DType;
  /** Device (default 'cpu'). */
  device?: Device;
  /** Track gradients for this leaf tensor (floating dtypes only). */
  requiresGrad?: boolean;
}

/** Options of {@link tensor}: also the shape of flat data. */
export interface FromDataOptions extends TensorOptions {
  /** Shape of the result; flat data is reshaped to it (default: the nesting of the data). */
  shape?: readonly number[];
}

/** Nested arrays of numbers or booleans. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** Data {@link tensor} accepts. */
export type TensorData = NestedArray | AnyTypedArray | ArrayBuffer;

/** Checks creation options and returns the dtype code (or null), device and grad flag. */
export function parseOptions(where: string, opts: TensorOptions | undefined): [number | null, string | null, boolean] {
  if (opts === undefined) return [null, null, false];
  if (opts === null || typeof opts !== 'object') typeError(where, 'an options object { dtype, device, requiresGrad }', opts);
  const { dtype, device, requiresGrad } = opts;
  if (dtype !== undefined && !isDType(dtype)) typeError(`${where}: dtype`, "a dtype such as 'float32', 'int64' or 'bool'", dtype);
  if (device !== undefined) checkDevice(where, device);
  if (requiresGrad !== undefined) checkBool(`${where}: requiresGrad`, requiresGrad);
  if (requiresGrad && dtype !== undefined && !isFloating(dtype))
    throw new TypeError(`${where}: only floating-point tensors can require gradients, but dtype is ${dtype}`);
  return [dtype === undefined ? null : dtypeCode(dtype), device ?? null, requiresGrad ?? false];
}

/** Checks a device string. */
export function checkDevice(where: string, device: unknown): string {
  if (typeof device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(device)) typeError(`${where}: device`, "'cpu', 'cuda' or 'cuda:N'", device);
  return device;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], where: string): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean') typeError(where, 'nested arrays of numbers or booleans of a regular shape', v);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth])
      throw new TypeError(`${where}: expected a regular nested array of shape [${shape.join(', ')}], but a sub-array at depth ${depth} is ${describe(v)}`);
    for (const e of v) walk(e, depth + 1);
  };
  walk(data, 0);
  return out;
}

/**
 * Creates a tensor from nested arrays, a TypedArray or an ArrayBuffer (copied). As in
 * PyTorch, integral numbers give int64, any fraction gives float32, booleans give bool,
 * unless `dtype` says otherwise; a TypedArray keeps its element type.
 *
 * @example
 * tn.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
 * tn.tensor(new Float32Array(6), { shape: [2, 3] });
 */
export function tensor(data: TensorData, opts: FromDataOptions = {}): Tensor {
  const where = 'tensor';
  const [dstCode, device, grad] = parseOptions(where, opts);
  let shape = opts.shape === undefined ? undefined : checkShape(`${where}: shape`, [...opts.shape]);
  let bytes: ArrayBufferView | ArrayBuffer;
  let srcDtype: DType;
  if (ArrayBuffer.isView(data)) {
    const t = dtypeOfTypedArray(data);
    if (t === undefined) typeError(where, 'a Float32Array, Float64Array, Int8/16/32Array, Uint8Array or BigInt64Array', data);
    srcDtype = t;
    bytes = data;
    shape ??= [(data as AnyTypedArray).length];
  } else if (types.isArrayBuffer(data)) {
    srcDtype = opts.dtype ?? 'float32';
    bytes = data;
    if (shape === undefined) typeError(`${where}: shape`, 'a shape for ArrayBuffer data', undefined);
  } else if (typeof data === 'number' || typeof data === 'boolean' || Array.isArray(data)) {
    const nested = inferShape(data as NestedArray);
    const flat = flatten(data as NestedArray, nested, where);
    const allBool = flat.length > 0 && flat.every((v) => typeof v === 'boolean');
    // As torch.tensor: booleans mixed with integers give int64.
    const allInt = flat.every((v) => typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v)));
    if (allBool) {
      srcDtype = 'bool';
      bytes = Uint8Array.from(flat, (v) => (v ? 1 : 0));
    } else if (allInt && flat.length > 0 && (opts.dtype === undefined || opts.dtype === 'int64')) {
      srcDtype = 'int64';
      bytes = BigInt64Array.from(flat, (v) => BigInt(Number(v)));
    } else {
      for (const v of flat) if (typeof v !== 'number' && typeof v !== 'boolean') typeError(where, 'numbers', v);
      srcDtype = 'float64';
      bytes = Float64Array.from(flat, (v) => Number(v));
    }
    const inferred = allBool ? 'bool' : allInt && flat.length > 0 ? 'int64' : 'float32';
    const dst = dstCode ?? dtypeCode(inferred);
    // As torch.tensor: a value an integer dtype cannot hold is an error, not a wrapped number.
    const target = opts.dtype ?? inferred;
    const range = INT_RANGE[target];
    if (range !== undefined) {
      for (const v of flat) {
        const x = Math.trunc(Number(v));
        if (!(x >= range[0] && x <= range[1])) rangeError(where, `values that fit in ${target} [${range[0]}, ${range[1]}]`, v);
      }
    }
    shape ??= nested;
    return Tensor._wrap(native.fromData(bytes, dtypeCode(srcDtype), shape, dst, device, grad));
  } else {
    typeError(where, 'nested arrays, a TypedArray or an ArrayBuffer', data);
  }
  const dst = dstCode ?? dtypeCode(srcDtype);
  return Tensor._wrap(native.fromData(bytes, dtypeCode(srcDtype), shape, dst, device, grad));
}

/** Alias of {@link tensor} for a tensor from a TypedArray, as torch.from_numpy (copies). */
export const fromTypedArray = (data: AnyTypedArray, shape?: readonly number[], opts: TensorOptions = {}): Tensor =>
  tensor(data, { ...opts, shape });

const OP = {
  zeros: opId('zeros'), ones: opId('ones'), empty: opId('empty'), full: opId('full'), arange: opId('arange'),
  linspace: opId('linspace'), eye: opId('eye'), rand: opId('rand'), randn: opId('randn'), randint: opId('randint'),
  randperm: opId('randperm'), zerosLike: opId('zerosLike'), onesLike: opId('onesLike'), emptyLike: opId('emptyLike'),
  randLike: opId('randLike'), randnLike: opId('randnLike'), fullLike: opId('fullLike'), manualSeed: opId('manualSeed'),
  multinomial: opId('multinomial'), bernoulli: opId('bernoulli'),
};

function sized(op: number, where: string, shape: readonly number[], opts?: TensorOptions): Tensor {
  const s = checkShape(`${where}: shape`, Array.isArray(shape) ? [...shape] : shape);
  const [d, dev, g] = parseOptions(where, opts);
  return callT(op, s, d, dev, g);
}

/** A tensor of zeros. @example tn.zeros([2, 3]) */
export const zeros = (shape: readonly number[], opts?: TensorOptions): Tensor => sized(OP.zeros, 'zeros', shape, opts);
/** A tensor of ones. */
export const ones = (shape: readonly number[], opts?: TensorOptions): Tensor => sized(OP.ones, 'ones', shape, opts);
/** An uninitialised tensor. */
export const empty = (shape: readonly number[], opts?: TensorOptions): Tensor => sized(OP.empty, 'empty', shape, opts);
/** Uniform random values in [0, 1). */
export const rand = (shape: readonly number[], opts?: TensorOptions): Tensor => sized(OP.rand, 'rand', shape, opts);
/** Standard normal random values. */
export const randn = (shape: readonly number[], opts?: TensorOptions): Tensor => sized(OP.randn, 'randn', shape, opts);

/** A tensor filled with `value` (dtype follows the value when not given, as torch.full). */
export function full(shape: readonly number[], value: number | boolean, opts?: TensorOptions): Tensor {
  const s = checkShape('full: shape', Array.isArray(shape) ? [...shape] : shape);
  if (typeof value !== 'boolean') checkNumber('full: value', value);
  const [d, dev, g] = parseOptions('full', opts);
  return callT(OP.full, s, value, d, dev, g);
}

/**
 * Values from `start` to `end` (exclusive) by `step`; `arange(n)` counts 0..n-1. Integer
 * arguments give int64, as in PyTorch.
 */
export function arange(start: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  checkNumber('arange: start', start);
  checkNumber('arange: end', end);
  checkNumber('arange: step', step);
  if (step === 0) throw new RangeError('arange: expected a non-zero step, but got 0');
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError(`arange: expected finite bounds, but got ${start} and ${end}`);
  if ((end - start) / step > 2 ** 40) throw new RangeError(`arange: the range [${start}, ${end}) by ${step} has too many elements`);
  const [d, dev, g] = parseOptions('arange', opts);
  return callT(OP.arange, start, end, step, d, dev, g);
}

/** `steps` evenly spaced values from `start` to `end` inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  checkNumber('linspace: start', start);
  checkNumber('linspace: end', end);
  checkInt('linspace: steps', steps, 0, 2 ** 40);
  const [d, dev, g] = parseOptions('linspace', opts);
  return callT(OP.linspace, start, end, steps, d, dev, g);
}

/** The n×m identity matrix (m defaults to n). */
export function eye(n: number, m?: number, opts?: TensorOptions): Tensor {
  checkInt('eye: n', n, 0, 2 ** 24);
  if (m !== undefined) checkInt('eye: m', m, 0, 2 ** 24);
  const [d, dev, g] = parseOptions('eye', opts);
  return callT(OP.eye, n, m ?? null, d, dev, g);
}

/** Random integers in [low, high) (int64 unless `dtype` says otherwise). */
export function randint(low: number, high: number, shape: readonly number[], opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  checkInt('randint: low', low);
  checkInt('randint: high', high);
  if (high <= low) throw new RangeError(`randint: expected low < high, but got low ${low} and high ${high}`);
  const s = checkShape('randint: shape', Array.isArray(shape) ? [...shape] : shape);
  const [d, dev] = parseOptions('randint', opts);
  return callT(OP.randint, low, high, s, d, dev);
}

/** A random permutation of 0..n-1. */
export function randperm(n: number, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  checkInt('randperm: n', n, 0, 2 ** 40);
  const [d, dev] = parseOptions('randperm', opts);
  return callT(OP.randperm, n, d, dev);
}

function like(op: number, where: string, t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  if (!(t instanceof Tensor)) typeError(where, 'a Tensor', t);
  const [d, dev] = parseOptions(where, opts);
  return callT(op, t.id, d, dev);
}
/** Zeros with the shape (and dtype, device) of `t`. */
export const zerosLike = (t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor => like(OP.zerosLike, 'zerosLike', t, opts);
/** Ones with the shape of `t`. */
export const onesLike = (t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor => like(OP.onesLike, 'onesLike', t, opts);
/** Uninitialised, with the shape of `t`. */
export const emptyLike = (t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor => like(OP.emptyLike, 'emptyLike', t, opts);
/** Uniform random with the shape of `t`. */
export const randLike = (t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor => like(OP.randLike, 'randLike', t, opts);
/** Normal random with the shape of `t`. */
export const randnLike = (t: Tensor, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor => like(OP.randnLike, 'randnLike', t, opts);
/** `value` with the shape of `t`. */
export function fullLike(t: Tensor, value: number | boolean, opts?: Omit<TensorOptions, 'requiresGrad'>): Tensor {
  if (!(t instanceof Tensor)) typeError('fullLike', 'a Tensor', t);
  if (typeof value !== 'boolean') checkNumber('fullLike: value', value);
  const [d, dev] = parseOptions('fullLike', opts);
  return callT(OP.fullLike, t.id, value, d, dev);
}

/** Samples `numSamples` indices from each row of probabilities. */
export function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  if (!(probs instanceof Tensor)) typeError('multinomial', 'a Tensor of probabilities', probs);
  checkInt('multinomial: numSamples', numSamples, 1);
  return callT(OP.multinomial, probs.id, numSamples, replacement);
}

/** Draws 0/1 with the probabilities in `p`. */
export function bernoulli(p: Tensor): Tensor {
  if (!(p instanceof Tensor)) typeError('bernoulli', 'a Tensor of probabilities', p);
  return callT(OP.bernoulli, p.id);
}

/** Seeds libtorch's random generators (CPU and, where present, CUDA), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  checkInt('manualSeed', seed, 0);
  callV(OP.manualSeed, seed);
}
