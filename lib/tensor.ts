/**
 * The Tensor class: a JS handle to a libtorch tensor, with PyTorch's methods in camelCase.
 *
 * A Tensor holds a number (its id in the addon's table), not a wrapped C++ object, so
 * creating one costs what a small JS object costs. Native memory is freed by `dispose()`,
 * `using`, {@link tidy} scopes, or (as a safety net only) by garbage collection.
 */
import { inspect } from 'node:util';

import { native } from './binding';
import type { Device } from './creation';
import { DType, TypedArrayFor, dtypeCode, dtypeFromCode, isDType, viewBytes } from './dtype';
import { checkBool, checkInt, typeError } from './errors';
import { formatTensor } from './format';
import { TRACKED, track } from './memory';
import * as callMod from './ops/call';
import * as ew from './ops/elementwise';
import type { TensorLike } from './ops/elementwise';
import * as idx from './ops/indexing';
import type { IndexSpec } from './ops/indexing';
import * as la from './ops/linalg';
import * as red from './ops/reduce';
import type { Dims, ValuesIndices, VarOptions } from './ops/reduce';
import * as sh from './ops/shape';
import type { PadMode } from './ops/shape';
import * as F from './nn/functional';

/** Nested arrays as returned by {@link Tensor.toArray}. */
export type NestedValues = number | boolean | NestedValues[];

/** What {@link Tensor.to} accepts. */
export interface ToOptions {
  dtype?: DType;
  device?: Device;
  /** Always copy, even when nothing changes. */
  copy?: boolean;
}

let OP: Record<string, number> | undefined;
function op(): Record<string, number> {
  // Resolved lazily: ops/call imports this module.
  OP ??= Object.fromEntries(
    ['shape', 'dtype', 'device', 'strides', 'isContiguous', 'storageOffset', 'to', 'clone', 'detach', 'backward', 'grad', 'setGrad', 'requiresGrad',
      'requiresGrad_', 'isLeaf', 'retainGrad', 'gradFn', 'copy_', 'fill_', 'zero_', 'uniform_', 'normal_', 'clamp', 'clamp_', 'lerp']
      .map((n) => [n, callMod.opId(n)]),
  );
  return OP;
}

/** A multi-dimensional array of one dtype on one device, with autograd. */
export class Tensor {
  /** @internal The addon handle, or -1 once disposed. */
  _id: number;
  private _shape: number[] | undefined;
  private _dtype: DType | undefined;
  /** @internal Marks tensors for tidy scopes (on the prototype: an own symbol field per object costs ~20 ns). */
  declare readonly [TRACKED]: true;

  /** @internal Use the creation functions (tn.tensor, tn.zeros, ...). */
  constructor(id: number) {
    this._id = id;
  }

  /** @internal Wraps a new handle: tracked by the innermost tidy scope, or else by the garbage collector. */
  static _wrap(id: number): Tensor {
    const t = new Tensor(id);
    track(t);
    return t;
  }

  /** @internal A 0-D tensor holding `value`. */
  static _scalar(value: number | boolean, dtype: DType, device: string): Tensor {
    const data = new Float64Array([Number(value)]);
    return Tensor._wrap(native.fromData(data, dtypeCode('float64'), [], dtypeCode(dtype), device, false));
  }

  /** The addon handle; throws when the tensor was disposed. */
  get id(): number {
    if (this._id < 0) throw new Error('Tensor has been disposed: it cannot be used again (clone it before disposing if you still need it)');
    return this._id;
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this._id < 0;
  }

  /** Frees the native tensor now. Safe to call twice. Views of it stay valid. */
  dispose(): void {
    if (this._id < 0) return;
    native.free(this._id);
    this._id = -1;
  }

  /** So that `using t = tn.zeros([3])` frees `t` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- metadata ------------------------------------------------------------------------

  /** The size of each dimension. */
  get shape(): number[] {
    this._shape ??= callMod.callV<number[]>(op().shape, this.id);
    return this._shape.slice();
  }
  /** The size of one dimension, or all of them (as torch's `size()`). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    const s = this.shape;
    if (dim === undefined) return s;
    const d = checkInt('size: dim', dim, -s.length, s.length - 1);
    return s[d < 0 ? d + s.length : d];
  }
  /** The element type. */
  get dtype(): DType {
    this._dtype ??= dtypeFromCode(callMod.callV<number>(op().dtype, this.id));
    return this._dtype;
  }
  /** Where the data lives: 'cpu' or 'cuda:N'. */
  get device(): Device {
    return callMod.callV<Device>(op().device, this.id);
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of dimensions (as torch's `dim()`). */
  dim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Element strides. */
  stride(): number[] {
    return callMod.callV<number[]>(op().strides, this.id);
  }
  /** Whether the elements are laid out contiguously, row-major. */
  isContiguous(): boolean {
    return callMod.callV<boolean>(op().isContiguous, this.id);
  }

  /** Offset of the first element in the storage, in elements (torch's storage_offset()). */
  storageOffset(): number {
    return callMod.callV<number>(op().storageOffset, this.id);
  }

  // ---- autograd --------------------------------------------------------------------------

  /** Whether autograd records operations on this tensor. */
  get requiresGrad(): boolean {
    return callMod.callV<boolean>(op().requiresGrad, this.id);
  }
  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }
  /** Sets {@link requiresGrad} in place and returns this tensor. */
  requiresGrad_(value = true): this {
    callMod.callV(op().requiresGrad_, this.id, checkBool('requiresGrad_', value));
    return this;
  }
  /**
   * The accumulated gradient, or null. Each read returns a new handle to the same gradient
   * (dispose it, or read it inside a tidy scope).
   */
  get grad(): Tensor | null {
    const id = native.op(op().grad, this.id) as number | null;
    return id === null ? null : Tensor._wrap(id);
  }
  set grad(value: Tensor | null) {
    if (value !== null && !(value instanceof Tensor)) typeError('grad', 'a Tensor or null', value);
    callMod.callV(op().setGrad, this.id, value === null ? null : value.id);
  }
  /** Whether this is a leaf of the autograd graph (created by the user, not by an op). */
  get isLeaf(): boolean {
    return callMod.callV<boolean>(op().isLeaf, this.id);
  }
  /** Name of the autograd node that made this tensor (e.g. 'AddBackward0'), or null. */
  get gradFn(): string | null {
    return callMod.callV<string>(op().gradFn, this.id) || null;
  }
  /** Keeps `.grad` for this non-leaf tensor after backward. */
  retainGrad(): this {
    callMod.callV(op().retainGrad, this.id);
    return this;
  }
  /**
   * Computes gradients of this tensor with respect to the graph's leaves, accumulating them
   * in their `.grad`. A tensor with more than one element needs `gradient`.
   */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (gradient != null && !(gradient instanceof Tensor)) typeError('backward: gradient', 'a Tensor', gradient);
    callMod.callV(op().backward, this.id, gradient ? gradient.id : null, !!opts.retainGraph, !!opts.createGraph);
  }
  /** {@link backward} on the native worker: the event loop keeps running meanwhile. */
  backwardAsync(gradient?: Tensor | null, opts: { retainGraph?: boolean } = {}): Promise<void> {
    if (gradient != null && !(gradient instanceof Tensor)) typeError('backward: gradient', 'a Tensor', gradient);
    return callMod.callVAsync(op().backward, this.id, gradient ? gradient.id : null, !!opts.retainGraph, false);
  }
  /** The same data, cut from the autograd graph. */
  detach(): Tensor {
    return callMod.callT(op().detach, this.id);
  }

  // ---- conversion ------------------------------------------------------------------------

  /**
   * Converts dtype and/or device: `t.to('float64')`, `t.to('cuda')`, `t.to({ dtype, device })`,
   * or `t.to(other)` to match another tensor.
   */
  to(target: DType | Device | Tensor | ToOptions): Tensor {
    let dtype: DType | undefined;
    let device: string | undefined;
    let copy = false;
    if (target instanceof Tensor) {
      dtype = target.dtype;
      device = target.device;
    } else if (typeof target === 'string') {
      if (isDType(target)) dtype = target;
      else if (/^(cpu|cuda(:\d+)?)$/.test(target)) device = target;
      else typeError('to', "a dtype ('float32', ...), a device ('cpu', 'cuda') or a Tensor", target);
    } else if (target !== null && typeof target === 'object') {
      if (target.dtype !== undefined && !isDType(target.dtype)) typeError('to: dtype', 'a dtype', target.dtype);
      if (target.device !== undefined && !/^(cpu|cuda(:\d+)?)$/.test(String(target.device))) typeError('to: device', "'cpu', 'cuda' or 'cuda:N'", target.device);
      dtype = target.dtype;
      device = target.device;
      copy = !!target.copy;
    } else {
      typeError('to', 'a dtype, a device, a Tensor or { dtype, device }', target);
    }
    return callMod.callT(op().to, this.id, dtype === undefined ? null : dtypeCode(dtype), device ?? null, copy);
  }
  /** To float32. */
  float(): Tensor { return this.to('float32'); }
  /** To float64. */
  double(): Tensor { return this.to('float64'); }
  /** To float16. */
  half(): Tensor { return this.to('float16'); }
  /** To bfloat16. */
  bfloat16(): Tensor { return this.to('bfloat16'); }
  /** To int32. */
  int(): Tensor { return this.to('int32'); }
  /** To int64. */
  long(): Tensor { return this.to('int64'); }
  /** To bool. */
  bool(): Tensor { return this.to('bool'); }
  /** To the CPU. */
  cpu(): Tensor { return this.to('cpu'); }
  /** To a CUDA device (libtorch with CUDA only). */
  cuda(index = 0): Tensor { return this.to(`cuda:${checkInt('cuda: index', index, 0)}`); }
  /** A copy with its own memory (differentiable). */
  clone(): Tensor {
    return callMod.callT(op().clone, this.id);
  }

  /** The single value of a one-element tensor, as a number (boolean for bool tensors). */
  item(): number | boolean {
    return native.item(this.id);
  }

  /**
   * The elements, row-major, in a TypedArray of the dtype (float16/bfloat16 widen to
   * Float32Array, bool gives Uint8Array). For a contiguous CPU tensor the array shares the
   * tensor's memory (like `.numpy()`), and keeps it alive after dispose; pass
   * `{ copy: true }` for an independent copy.
   */
  toTypedArray(opts: { copy?: boolean } = {}): TypedArrayFor[DType] {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const f = this.to('float32');
      try {
        return viewBytes('float32', native.toArrayBuffer(f.id, true));
      } finally {
        f.dispose();
      }
    }
    return viewBytes(dtype, native.toArrayBuffer(this.id, !opts.copy));
  }

  /** The elements as nested arrays of numbers (booleans for bool tensors), like `.tolist()`. */
  toArray(): NestedValues {
    const shape = this.shape;
    const data = this.toTypedArray({ copy: true });
    const dtype = this.dtype;
    const at = (i: number): number | boolean =>
      dtype === 'bool' ? data[i] !== 0 : dtype === 'int64' ? Number((data as BigInt64Array)[i]) : (data as Float64Array)[i];
    if (shape.length === 0) return at(0);
    let offset = 0;
    const build = (d: number): NestedValues[] => {
      const out: NestedValues[] = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) out[i] = d === shape.length - 1 ? at(offset++) : build(d + 1);
      return out;
    };
    return build(0);
  }

  /** Prints like PyTorch: `tensor([[1., 2.], [3., 4.]])`. */
  toString(): string {
    if (this._id < 0) return 'tensor(<disposed>)';
    return formatTensor(this);
  }
  /** @internal Node's console.log shows the PyTorch-style text. */
  [inspect.custom](): string {
    return this.toString();
  }

  // ---- in-place --------------------------------------------------------------------------

  /** In place: copies `src` (broadcast) into this tensor. */
  copy_(src: Tensor): this {
    if (!(src instanceof Tensor)) typeError('copy_', 'a Tensor', src);
    callMod.callV(op().copy_, this.id, src.id);
    return this;
  }
  /** In place: sets every element to `value`. */
  fill_(value: number | boolean): this {
    if (typeof value !== 'number' && typeof value !== 'boolean') typeError('fill_', 'a number', value);
    callMod.callV(op().fill_, this.id, value);
    return this;
  }
  /** In place: zeroes every element. */
  zero_(): this {
    callMod.callV(op().zero_, this.id);
    return this;
  }
  /** In place: uniform random values in [from, to). */
  uniform_(from = 0, to = 1): this {
    callMod.callV(op().uniform_, this.id, from, to);
    return this;
  }
  /** In place: normal random values. */
  normal_(mean = 0, std = 1): this {
    callMod.callV(op().normal_, this.id, mean, std);
    return this;
  }
  /** In place `this += alpha * other`. */
  add_(other: TensorLike, alpha?: number): this {
    if (alpha !== undefined && alpha !== 1) {
      if (other instanceof Tensor) {
        const s = ew.mul(other, alpha);
        try {
          ew.binaryInplace('add', this, s);
        } finally {
          s.dispose();
        }
        return this;
      }
      other = Number(other) * alpha;
    }
    ew.binaryInplace('add', this, other);
    return this;
  }
  /** In place `this -= other`. */
  sub_(other: TensorLike): this { ew.binaryInplace('sub', this, other); return this; }
  /** In place `this *= other`. */
  mul_(other: TensorLike): this { ew.binaryInplace('mul', this, other); return this; }
  /** In place `this /= other`. */
  div_(other: TensorLike): this { ew.binaryInplace('div', this, other); return this; }
  /** In place `this **= other`. */
  pow_(other: TensorLike): this { ew.binaryInplace('pow', this, other); return this; }
  /** In place clamp. */
  clamp_(min?: number | null, max?: number | null): this {
    callMod.callV(op().clamp_, this.id, min ?? null, max ?? null);
    return this;
  }
  /** In place: `value` where `mask` is true. */
  maskedFill_(mask: Tensor, value: number | boolean): this { sh.maskedFill_(this, mask, value); return this; }
  /** In place `this[...specs] = value`. */
  indexPut_(specs: IndexSpec[], value: Tensor | number | boolean): this { idx.indexPut_(this, specs, value); return this; }

  // ---- elementwise -----------------------------------------------------------------------

  /** `this + alpha * other`. */
  add(other: TensorLike, alpha?: number): Tensor { return ew.add(this, other, alpha); }
  /** `this - other`. */
  sub(other: TensorLike): Tensor { return ew.binary('sub', this, other); }
  /** `this * other`. */
  mul(other: TensorLike): Tensor { return ew.binary('mul', this, other); }
  /** `this / other`. */
  div(other: TensorLike): Tensor { return ew.binary('div', this, other); }
  /** `this ** other`. */
  pow(other: TensorLike): Tensor { return ew.binary('pow', this, other); }
  /** Elementwise maximum. */
  maximum(other: TensorLike): Tensor { return ew.binary('maximum', this, other); }
  /** Elementwise minimum. */
  minimum(other: TensorLike): Tensor { return ew.binary('minimum', this, other); }
  /** `this == other`. */
  eq(other: TensorLike): Tensor { return ew.binary('eq', this, other); }
  /** `this != other`. */
  ne(other: TensorLike): Tensor { return ew.binary('ne', this, other); }
  /** `this < other`. */
  lt(other: TensorLike): Tensor { return ew.binary('lt', this, other); }
  /** `this <= other`. */
  le(other: TensorLike): Tensor { return ew.binary('le', this, other); }
  /** `this > other`. */
  gt(other: TensorLike): Tensor { return ew.binary('gt', this, other); }
  /** `this >= other`. */
  ge(other: TensorLike): Tensor { return ew.binary('ge', this, other); }
  /** Python-style remainder. */
  remainder(other: TensorLike): Tensor { return ew.binary('remainder', this, other); }
  /** C-style remainder. */
  fmod(other: TensorLike): Tensor { return ew.binary('fmod', this, other); }
  /** Logical and. */
  logicalAnd(other: TensorLike): Tensor { return ew.binary('logicalAnd', this, other); }
  /** Logical or. */
  logicalOr(other: TensorLike): Tensor { return ew.binary('logicalOr', this, other); }
  /** Logical not. */
  logicalNot(): Tensor { return ew.unary('logicalNot', this); }
  /** -this */
  neg(): Tensor { return ew.unary('neg', this); }
  /** |this| */
  abs(): Tensor { return ew.unary('abs', this); }
  /** e^this */
  exp(): Tensor { return ew.unary('exp', this); }
  /** ln this */
  log(): Tensor { return ew.unary('log', this); }
  /** √this */
  sqrt(): Tensor { return ew.unary('sqrt', this); }
  /** 1/√this */
  rsqrt(): Tensor { return ew.unary('rsqrt', this); }
  /** sin */
  sin(): Tensor { return ew.unary('sin', this); }
  /** cos */
  cos(): Tensor { return ew.unary('cos', this); }
  /** tanh */
  tanh(): Tensor { return ew.unary('tanh', this); }
  /** sigmoid */
  sigmoid(): Tensor { return ew.unary('sigmoid', this); }
  /** ReLU */
  relu(): Tensor { return ew.unary('relu', this); }
  /** SiLU */
  silu(): Tensor { return ew.unary('silu', this); }
  /** GELU (`'tanh'` for the approximation). */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return F.gelu(this, approximate); }
  /** Rounds down. */
  floor(): Tensor { return ew.unary('floor', this); }
  /** Rounds up. */
  ceil(): Tensor { return ew.unary('ceil', this); }
  /** Rounds half to even. */
  round(): Tensor { return ew.unary('round', this); }
  /** -1, 0 or 1. */
  sign(): Tensor { return ew.unary('sign', this); }
  /** 1/this */
  reciprocal(): Tensor { return ew.unary('reciprocal', this); }
  /** this² */
  square(): Tensor { return ew.unary('square', this); }
  /** Error function. */
  erf(): Tensor { return ew.unary('erf', this); }
  /** NaN test. */
  isnan(): Tensor { return ew.unary('isnan', this); }
  /** Finite test. */
  isfinite(): Tensor { return ew.unary('isfinite', this); }
  /** Clamps into [min, max] (either may be omitted). */
  clamp(min?: number | null, max?: number | null): Tensor {
    if (min != null && typeof min !== 'number') typeError('clamp: min', 'a number', min);
    if (max != null && typeof max !== 'number') typeError('clamp: max', 'a number', max);
    return callMod.callT(op().clamp, this.id, min ?? null, max ?? null);
  }
  /** this + weight·(end - this). */
  lerp(end: Tensor, weight: number): Tensor {
    if (!(end instanceof Tensor)) typeError('lerp: end', 'a Tensor', end);
    return callMod.callT(op().lerp, this.id, end.id, weight);
  }
  /** Softmax along `dim`. */
  softmax(dim: number, dtype?: DType): Tensor { return F.softmax(this, dim, dtype); }
  /** Log-softmax along `dim`. */
  logSoftmax(dim: number, dtype?: DType): Tensor { return F.logSoftmax(this, dim, dtype); }

  // ---- reductions ------------------------------------------------------------------------

  /** Sum (over `dim`). */
  sum(dim?: Dims | null, keepdim = false, dtype?: DType): Tensor { return red.sum(this, dim, keepdim, dtype); }
  /** Mean (over `dim`). */
  mean(dim?: Dims | null, keepdim = false, dtype?: DType): Tensor { return red.mean(this, dim, keepdim, dtype); }
  /** Product (over `dim`). */
  prod(dim?: number | null, keepdim = false): Tensor { return red.prod(this, dim, keepdim); }
  /** Maximum, or along `dim` `{ values, indices }`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesIndices { return dim === undefined ? red.max(this) : red.max(this, dim, keepdim); }
  /** Minimum, or along `dim` `{ values, indices }`. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesIndices { return dim === undefined ? red.min(this) : red.min(this, dim, keepdim); }
  /** Maximum values over dims. */
  amax(dim: Dims = [], keepdim = false): Tensor { return red.amax(this, dim, keepdim); }
  /** Minimum values over dims. */
  amin(dim: Dims = [], keepdim = false): Tensor { return red.amin(this, dim, keepdim); }
  /** Index of the maximum. */
  argmax(dim?: number | null, keepdim = false): Tensor { return red.argmax(this, dim, keepdim); }
  /** Index of the minimum. */
  argmin(dim?: number | null, keepdim = false): Tensor { return red.argmin(this, dim, keepdim); }
  /** log Σ exp over `dim`. */
  logsumexp(dim: Dims, keepdim = false): Tensor { return red.logsumexp(this, dim, keepdim); }
  /** Variance (Bessel-corrected by default). */
  var(dim?: Dims | null, opts?: VarOptions): Tensor { return red.variance(this, dim, opts); }
  /** Standard deviation. */
  std(dim?: Dims | null, opts?: VarOptions): Tensor { return red.std(this, dim, opts); }
  /** p-norm. */
  norm(p = 2, dim?: Dims | null, keepdim = false): Tensor { return red.norm(this, p, dim, keepdim); }
  /** All true (along `dim`). */
  all(dim?: number | null, keepdim = false): Tensor { return red.all(this, dim, keepdim); }
  /** Any true (along `dim`). */
  any(dim?: number | null, keepdim = false): Tensor { return red.any(this, dim, keepdim); }
  /** Cumulative sum. */
  cumsum(dim: number): Tensor { return red.cumsum(this, dim); }

  // ---- shapes and indexing ---------------------------------------------------------------

  /** New shape, same data (copies only when needed). */
  reshape(...shape: number[] | [readonly number[]]): Tensor { return sh.reshape(this, shapeArgs(shape)); }
  /** A view with a new shape. */
  view(...shape: number[] | [readonly number[]]): Tensor { return sh.view(this, shapeArgs(shape)); }
  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor { return sh.transpose(this, dim0, dim1); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return sh.transpose(this, 0, 1); }
  /** Reorders dimensions. */
  permute(...dims: number[] | [readonly number[]]): Tensor { return sh.permute(this, shapeArgs(dims)); }
  /** Contiguous layout. */
  contiguous(): Tensor { return sh.contiguous(this); }
  /** Removes size-1 dimensions. */
  squeeze(dim?: number): Tensor { return sh.squeeze(this, dim); }
  /** Adds a size-1 dimension. */
  unsqueeze(dim: number): Tensor { return sh.unsqueeze(this, dim); }
  /** Broadcasts to a shape. */
  expand(...shape: number[] | [readonly number[]]): Tensor { return sh.expand(this, shapeArgs(shape)); }
  /** Broadcasts to another tensor's shape. */
  expandAs(other: Tensor): Tensor { return sh.expand(this, other.shape); }
  /** Flattens a range of dimensions. */
  flatten(startDim = 0, endDim = -1): Tensor { return sh.flatten(this, startDim, endDim); }
  /** Splits one dimension into several. */
  unflatten(dim: number, sizes: readonly number[]): Tensor { return sh.unflatten(this, dim, sizes); }
  /** Pieces of `splitSize` along `dim`. */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] { return sh.split(this, splitSize, dim); }
  /** `chunks` pieces along `dim`. */
  chunk(chunks: number, dim = 0): Tensor[] { return sh.chunk(this, chunks, dim); }
  /** A view with explicit sizes, strides and storage offset (torch.as_strided). */
  asStrided(size: readonly number[], stride: readonly number[], storageOffset = 0): Tensor { return sh.asStrided(this, size, stride, storageOffset); }
  /** A narrowed view. */
  narrow(dim: number, start: number, length: number): Tensor { return sh.narrow(this, dim, start, length); }
  /** Selects one index of a dimension. */
  select(dim: number, index: number): Tensor { return sh.select(this, dim, index); }
  /** A strided slice of a dimension. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return sh.slice(this, dim, start, end, step); }
  /** Python-style indexing: `x.index(0, '1:3', null, '...', idxTensor)`. */
  index(...specs: IndexSpec[]): Tensor { return idx.index(this, ...specs); }
  /** Gathers along `dim`. */
  gather(dim: number, index: Tensor): Tensor { return sh.gather(this, dim, index); }
  /** Scatters `src` at `index` (a copy). */
  scatter(dim: number, index: Tensor, src: Tensor): Tensor { return sh.scatter(this, dim, index, src); }
  /** Scatter-adds `src` at `index` (a copy). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return sh.scatterAdd(this, dim, index, src); }
  /** Entries of `dim` listed in `index`. */
  indexSelect(dim: number, index: Tensor): Tensor { return sh.indexSelect(this, dim, index); }
  /** `value` where `mask` is true (a copy). */
  maskedFill(mask: Tensor, value: number | boolean): Tensor { return sh.maskedFill(this, mask, value); }
  /** Values where `mask` is true. */
  maskedSelect(mask: Tensor): Tensor { return sh.maskedSelect(this, mask); }
  /** Cyclic shift. */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor { return sh.roll(this, shifts, dims); }
  /** Lower triangle. */
  tril(diagonal = 0): Tensor { return sh.tril(this, diagonal); }
  /** Upper triangle. */
  triu(diagonal = 0): Tensor { return sh.triu(this, diagonal); }
  /** Tiles the data. */
  repeat(...repeats: number[] | [readonly number[]]): Tensor { return sh.repeat(this, shapeArgs(repeats)); }
  /** Reverses along dims. */
  flip(dims: readonly number[]): Tensor { return sh.flip(this, dims); }
  /** Pads the last dimensions (as F.pad). */
  pad(padding: readonly number[], mode: PadMode = 'constant', value = 0): Tensor { return sh.pad(this, padding, mode, value); }
  /** Sorts along `dim`. */
  sort(dim = -1, descending = false): ValuesIndices { return sh.sort(this, dim, descending); }
  /** The k largest along `dim`. */
  topk(k: number, dim = -1, largest = true, sorted = true): ValuesIndices { return sh.topk(this, k, dim, largest, sorted); }

  // ---- linear algebra --------------------------------------------------------------------

  /** Matrix product. */
  matmul(other: Tensor): Tensor { return la.matmul(this, other); }
  /** Matrix product on the native worker. */
  matmulAsync(other: Tensor): Promise<Tensor> { return la.matmulAsync(this, other); }
  /** 2-D matrix product. */
  mm(other: Tensor): Tensor { return la.mm(this, other); }
  /** Batched matrix product. */
  bmm(other: Tensor): Tensor { return la.bmm(this, other); }
}

Object.defineProperty(Tensor.prototype, TRACKED, { value: true });

function shapeArgs(args: number[] | [readonly number[]]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  for (const a of args) if (typeof a !== 'number') typeError('shape', 'integers or one array of integers', args);
  return args as number[];
}

