/**
 * The safetensors format (https://huggingface.co/docs/safetensors): 8 bytes of little-endian
 * header length, a JSON header `{ name: { dtype, shape, data_offsets }, __metadata__ }`,
 * then the raw tensor bytes. Interoperable with Python's `safetensors`.
 *
 * Loading a file maps it into memory (copy-on-write) and views each tensor in place, with
 * no read or copy; loading a Buffer copies each tensor once.
 */
import * as fs from 'node:fs';
import { types } from 'node:util';

import { native } from './binding';
import { DType, dtypeCode, itemSize } from './dtype';
import { describe, typeError } from './errors';
import { Tensor } from './tensor';

const TO_DTYPE: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_DTYPE: Record<DType, string> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;

/** One tensor's entry in a safetensors header. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(json: string, dataLength: number, where: string): { entries: Entry[]; metadata: Record<string, string> } {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new Error(`${where}: not a safetensors file (its header is not JSON)`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${where}: not a safetensors file (its header is not a JSON object)`);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = TO_DTYPE[String(e?.dtype)];
    if (dtype === undefined) throw new Error(`${where}: tensor '${name}' has dtype ${describe(e?.dtype)}, which transformer-native does not support (expected one of ${Object.keys(TO_DTYPE).join(', ')})`);
    const shape = e.shape;
    const offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: tensor '${name}' has an invalid shape ${describe(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: tensor '${name}' has invalid data_offsets ${describe(offsets)}`);
    const [begin, end] = offsets as number[];
    const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * itemSize(dtype);
    if (end - begin !== bytes || end > dataLength) throw new Error(`${where}: tensor '${name}' has data_offsets [${begin}, ${end}] that do not match its shape [${shape}] and dtype ${dtype} or lie outside the file`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  return { entries, metadata };
}

function headerLength(prefix: Buffer, total: number, where: string): number {
  if (total < 8) throw new Error(`${where}: not a safetensors file (shorter than 8 bytes)`);
  const n = prefix.readBigUInt64LE(0);
  if (n > BigInt(total - 8) || n > 100_000_000n) throw new Error(`${where}: not a safetensors file (header length ${n} exceeds the file)`);
  return Number(n);
}

/** Tensors by name, and the file's `__metadata__`. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Loads a safetensors file (path: memory-mapped, no copy) or Buffer (copied once) and
 * returns its tensors by name. See {@link loadSafetensorsWithMetadata} for the metadata.
 */
export function loadSafetensors(source: string | Uint8Array): Record<string, Tensor> {
  return loadSafetensorsWithMetadata(source).tensors;
}

/** Like {@link loadSafetensors}, also returning the header's `__metadata__`. */
export function loadSafetensorsWithMetadata(source: string | Uint8Array): SafetensorsContents {
  if (typeof source === 'string') {
    const where = `loadSafetensors('${source}')`;
    const fd = fs.openSync(source, 'r');
    let json: string;
    let n: number;
    let size: number;
    try {
      size = fs.fstatSync(fd).size;
      const prefix = Buffer.alloc(8);
      fs.readSync(fd, prefix, 0, 8, 0);
      n = headerLength(prefix, size, where);
      const head = Buffer.alloc(n);
      fs.readSync(fd, head, 0, n, 8);
      json = head.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
    const { entries, metadata } = parseHeader(json, size - 8 - n, where);
    const ids = native.mapSafetensors(source, 8 + n, entries.map((e) => [dtypeCode(e.dtype), e.shape, e.begin, e.end]));
    const tensors: Record<string, Tensor> = {};
    entries.forEach((e, i) => (tensors[e.name] = Tensor._wrap(ids[i])));
    return { tensors, metadata };
  }
  if (!types.isUint8Array(source)) typeError('loadSafetensors', 'a file path or a Buffer', source);
  const where = 'loadSafetensors(buffer)';
  const buf = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const n = headerLength(buf, buf.length, where);
  const { entries, metadata } = parseHeader(buf.subarray(8, 8 + n).toString('utf8'), buf.length - 8 - n, where);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const bytes = buf.subarray(8 + n + e.begin, 8 + n + e.end);
    const code = dtypeCode(e.dtype);
    tensors[e.name] = Tensor._wrap(native.fromData(bytes, code, e.shape, code, null, false));
  }
  return { tensors, metadata };
}

/** Serialises tensors (moved to CPU, made contiguous) to safetensors bytes. */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  if (tensors === null || typeof tensors !== 'object') typeError('saveSafetensors: tensors', 'an object of named Tensors', tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') typeError(`saveSafetensors: metadata '${k}'`, 'a string', v);
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof Tensor)) typeError(`saveSafetensors: '${name}'`, 'a Tensor', t);
    const bytes = new Uint8Array(native.toArrayBuffer(t.id, true));
    header[name] = { dtype: FROM_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keeps the data section 8-byte aligned
  const head = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([prefix, head, ...chunks]);
}

/** Writes tensors to a safetensors file. */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  if (typeof path !== 'string') typeError('saveSafetensors: path', 'a file path', path);
  fs.writeFileSync(path, serializeSafetensors(tensors, metadata));
}
