/**
 * Broadcasting elementwise math and comparisons. These run on the addon's fast path (no op
 * table, no closure): small-tensor call overhead is what decides a model's speed on CPU.
 */
import { BINARY, UNARY, native } from '../binding';
import { describe } from '../errors';
import { Tensor } from '../tensor';

/** A tensor or a scalar that broadcasts like a 0-D tensor. */
export type TensorLike = Tensor | number | boolean;

/** Names of the binary ops. */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'
  | 'remainder' | 'fmod' | 'atan2' | 'floorDivide' | 'logicalAnd' | 'logicalOr' | 'logicalXor';

/** Names of the unary ops. */
export type UnaryOp =
  | 'neg' | 'abs' | 'exp' | 'log' | 'log2' | 'sqrt' | 'rsqrt' | 'sin' | 'cos' | 'tan' | 'tanh' | 'sigmoid'
  | 'relu' | 'silu' | 'floor' | 'ceil' | 'round' | 'trunc' | 'sign' | 'reciprocal' | 'erf' | 'log1p'
  | 'expm1' | 'square' | 'logicalNot' | 'isnan' | 'isinf' | 'isfinite';

function scalarOk(v: unknown): v is number | boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

/** Applies a binary op with broadcasting; either side may be a scalar. */
export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const code = BINARY[op];
  if (a instanceof Tensor) {
    if (b instanceof Tensor) return Tensor._wrap(native.binary(code, a.id, b.id));
    if (scalarOk(b)) return Tensor._wrap(native.binaryScalar(code, a.id, b, false));
    throw new TypeError(`${op}: expected other to be a Tensor or a number, but got ${describe(b)}`);
  }
  if (b instanceof Tensor && scalarOk(a)) return Tensor._wrap(native.binaryScalar(code, b.id, a, true));
  throw new TypeError(`${op}: expected a Tensor and a Tensor or number, but got ${describe(a)} and ${describe(b)}`);
}

/** Applies a binary op in place on `a` (returns `a`). */
export function binaryInplace(op: BinaryOp, a: Tensor, b: TensorLike): Tensor {
  const code = BINARY[op];
  if (b instanceof Tensor) native.binaryInplace(code, a.id, b.id);
  else if (scalarOk(b)) native.binaryScalarInplace(code, a.id, b);
  else throw new TypeError(`${op}_: expected other to be a Tensor or a number, but got ${describe(b)}`);
  return a;
}

/** Applies a unary op. */
export function unary(op: UnaryOp, a: Tensor): Tensor {
  if (!(a instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, but got ${describe(a)}`);
  return Tensor._wrap(native.unary(UNARY[op], a.id));
}

/** `a + alpha * b`, broadcasting. */
export function add(a: TensorLike, b: TensorLike, alpha?: number): Tensor {
  if (alpha !== undefined && alpha !== 1) {
    if (typeof b === 'number') return binary('add', a, b * alpha);
    if (b instanceof Tensor) {
      const scaled = binary('mul', b, alpha);
      try {
        return binary('add', a, scaled);
      } finally {
        scaled.dispose();
      }
    }
  }
  return binary('add', a, b);
}
/** `a - b`. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/** `a * b`. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** `a / b` (true division: integer inputs give floats, as in PyTorch). */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** `a ** b`. */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** Elementwise maximum. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise minimum. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/** `a == b` as a bool tensor. */
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
/** `a != b`. */
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
/** `a < b`. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
/** `a <= b`. */
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
/** `a > b`. */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
/** `a >= b`. */
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
/** Python-style remainder (sign of the divisor). */
export const remainder = (a: TensorLike, b: TensorLike): Tensor => binary('remainder', a, b);
/** C-style remainder (sign of the dividend). */
export const fmod = (a: TensorLike, b: TensorLike): Tensor => binary('fmod', a, b);
/** Elementwise atan2(a, b). */
export const atan2 = (a: TensorLike, b: TensorLike): Tensor => binary('atan2', a, b);
/** Floor division. */
export const floorDivide = (a: TensorLike, b: TensorLike): Tensor => binary('floorDivide', a, b);
/** Logical and. */
export const logicalAnd = (a: TensorLike, b: TensorLike): Tensor => binary('logicalAnd', a, b);
/** Logical or. */
export const logicalOr = (a: TensorLike, b: TensorLike): Tensor => binary('logicalOr', a, b);
/** Logical xor. */
export const logicalXor = (a: TensorLike, b: TensorLike): Tensor => binary('logicalXor', a, b);

/** -x */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** e^x */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** ln x */
export const log = (x: Tensor): Tensor => unary('log', x);
/** log2 x */
export const log2 = (x: Tensor): Tensor => unary('log2', x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
/** sin x */
export const sin = (x: Tensor): Tensor => unary('sin', x);
/** cos x */
export const cos = (x: Tensor): Tensor => unary('cos', x);
/** tan x */
export const tan = (x: Tensor): Tensor => unary('tan', x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** 1/(1+e^-x) */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** x·sigmoid(x) */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** Rounds down. */
export const floor = (x: Tensor): Tensor => unary('floor', x);
/** Rounds up. */
export const ceil = (x: Tensor): Tensor => unary('ceil', x);
/** Rounds half to even, as PyTorch. */
export const round = (x: Tensor): Tensor => unary('round', x);
/** Rounds toward zero. */
export const trunc = (x: Tensor): Tensor => unary('trunc', x);
/** -1, 0 or 1. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** 1/x */
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
/** Error function. */
export const erf = (x: Tensor): Tensor => unary('erf', x);
/** ln(1+x) */
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
/** e^x - 1 */
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
/** x² */
export const square = (x: Tensor): Tensor => unary('square', x);
/** Logical not. */
export const logicalNot = (x: Tensor): Tensor => unary('logicalNot', x);
/** Whether each element is NaN. */
export const isnan = (x: Tensor): Tensor => unary('isnan', x);
/** Whether each element is ±inf. */
export const isinf = (x: Tensor): Tensor => unary('isinf', x);
/** Whether each element is finite. */
export const isfinite = (x: Tensor): Tensor => unary('isfinite', x);
