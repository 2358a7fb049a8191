/**
 * Data types, named as in PyTorch. The order of {@link DTYPES} is the code the addon uses
 * (native/src/binding/args.cpp): keep them in step.
 */
import { types } from 'node:util';

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool'] as const;

/** A tensor element type. */
export type DType = (typeof DTYPES)[number];

/** The TypedArray that holds each dtype's elements in JS (float16/bfloat16 widen to float32). */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  float16: Float32Array;
  bfloat16: Float32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** Any TypedArray a tensor can be built from or exported to. */
export type AnyTypedArray = TypedArrayFor[DType];

const CODE = new Map<string, number>(DTYPES.map((d, i) => [d, i]));

/** The range of each integer dtype (int64's bounds as the nearest doubles inside it). */
export const INT_RANGE: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1024],
};

/** Whether a value names a dtype. */
export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && CODE.has(value);
}

/** The addon's code for a dtype. */
export function dtypeCode(dtype: DType): number {
  return CODE.get(dtype)!;
}

/** The dtype of an addon code. */
export function dtypeFromCode(code: number): DType {
  const d = DTYPES[code];
  if (d === undefined) throw new Error(`unknown dtype code ${code}`);
  return d;
}

/** Bytes per element. */
export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    default:
      return 1;
  }
}

/** Whether the dtype holds floating-point values. */
export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** The dtype a TypedArray's elements naturally have. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType | undefined {
  // util.types checks work across realms (vm contexts, jest, worker messages); instanceof does not.
  if (types.isFloat32Array(a)) return 'float32';
  if (types.isFloat64Array(a)) return 'float64';
  if (types.isInt32Array(a)) return 'int32';
  if (types.isBigInt64Array(a)) return 'int64';
  if (types.isInt16Array(a)) return 'int16';
  if (types.isInt8Array(a)) return 'int8';
  if (types.isUint8Array(a) || types.isUint8ClampedArray(a)) return 'uint8';
  return undefined;
}

/** A TypedArray view of raw bytes for a dtype (float16/bfloat16 are not viewable: convert first). */
export function viewBytes<D extends DType>(dtype: D, buffer: ArrayBuffer, byteOffset = 0, length?: number): TypedArrayFor[D] {
  const n = length ?? (buffer.byteLength - byteOffset) / itemSize(dtype);
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'float64':
      return new Float64Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'int8':
      return new Int8Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'int16':
      return new Int16Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'int32':
      return new Int32Array(buffer, byteOffset, n) as TypedArrayFor[D];
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n) as TypedArrayFor[D];
    default:
      throw new Error(`${dtype} has no TypedArray view; convert to float32 first`);
  }
}
