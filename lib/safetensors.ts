/**
 * The safetensors format (https://huggingface.co/docs/safetensors): 8 bytes of little-endian
 * header length, a JSON header `{ name: { dtype, shape, data_offsets }, __metadata__ }`,
 * then the raw tensor bytes. Interoperable with Python's `safetensors`.
 *
 * Loading a file maps it into memory (private, copy-on-write) and views each tensor in place,
 * with no read or copy; `{ copy: true }` reads the tensors into memory of their own instead.
 * Loading a Buffer copies each tensor once. Saving writes a temporary file in the target's
 * folder and renames it over the target (see io/atomic_write.ts), streaming the tensors' bytes
 * without building the whole file in memory.
 *
 * Headers are checked as Python's `safetensors` checks them, and a little more: valid UTF-8
 * JSON, no duplicate keys, string metadata, known dtypes, shapes whose size fits, and data
 * offsets that pack the data section exactly (sorted by offset, each tensor begins where the
 * previous one ends, the last ends at the end of the file: no overlap, no gap, nothing after).
 */
import * as fs from 'node:fs';
import { types } from 'node:util';

import { native } from './binding';
import { DType, dtypeCode, itemSize } from './dtype';
import { describe, typeError } from './errors';
import { writeFileAtomicWith } from './io/atomic_write';
import { findDuplicateKey } from './io/json_duplicates';
import { Tensor } from './tensor';

const TO_DTYPE: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_DTYPE: Record<DType, string> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;
/** The largest header Python's safetensors accepts. */
const MAX_HEADER = 100_000_000;
/** The most bytes (and so elements, and stride) a tensor's non-zero dimensions may span: 2^52, under the addon's integer bound. */
const MAX_SPAN = 2n ** 52n;
/** The key the format reserves for the metadata. */
const METADATA_KEY = '__metadata__';
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One tensor's entry in a safetensors header. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Sets `obj[key] = value` as an own property, even for keys such as `__proto__`. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A header key or tensor name as error messages show it. */
const quote = (s: string): string => `'${s.length > 80 ? s.slice(0, 80) + '...' : s}'`;

function parseHeader(bytes: Uint8Array, dataLength: number, where: string): { entries: Entry[]; metadata: Record<string, string> } {
  let json: string;
  try {
    json = UTF8.decode(bytes);
  } catch {
    throw new Error(`${where}: not a safetensors file (its header is not valid UTF-8 text)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: not a safetensors file (its header is not JSON: ${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw new Error(`${where}: not a safetensors file (its header is not a JSON object but ${describe(header)})`);
  let dup;
  try {
    dup = findDuplicateKey(json, 8);
  } catch {
    throw new Error(`${where}: invalid safetensors header (it nests deeper than a header can: a tensor entry is { dtype, shape: [...], data_offsets: [...] })`);
  }
  if (dup) {
    const key = String(dup[dup.length - 1]);
    throw new Error(
      dup.length === 1 && key === METADATA_KEY
        ? `${where}: invalid safetensors header: the key '${METADATA_KEY}' appears twice`
        : dup.length === 1
        ? `${where}: invalid safetensors header: the name ${quote(key)} appears twice (every tensor needs its own name; JSON would silently keep only the last)`
        : `${where}: invalid safetensors header: the key ${quote(key)} appears twice in ${dup.slice(0, -1).map((k) => (typeof k === 'number' ? `[${k}]` : quote(k))).join(' → ')}`,
    );
  }
  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isPlainObject(rawMeta)) throw new Error(`${where}: invalid safetensors header: __metadata__ is ${describe(rawMeta)}, but it must be an object of strings`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new Error(`${where}: invalid safetensors header: metadata ${quote(k)} is ${describe(v)}, but metadata values must be strings`);
      setOwn(metadata, k, v);
    }
  }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const t = `tensor ${quote(name)}`;
    if (!isPlainObject(info)) throw new Error(`${where}: ${t} has ${describe(info)} as its header entry, but it must be an object { dtype, shape, data_offsets }`);
    const dtype = typeof info.dtype === 'string' && Object.hasOwn(TO_DTYPE, info.dtype) ? TO_DTYPE[info.dtype] : undefined;
    if (dtype === undefined) throw new Error(`${where}: ${t} has dtype ${describe(info.dtype)}, which transformer-native does not support (expected one of ${Object.keys(TO_DTYPE).join(', ')})`);
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: ${t} has an invalid shape ${describe(shape)} (expected an array of integers >= 0)`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`${where}: ${t} has invalid data_offsets ${describe(offsets)} (expected [begin, end], integers >= 0)`);
    // The product of the non-zero dimensions bounds the strides too (an empty tensor can have huge dimensions).
    const span = shape.reduce((a: bigint, d: number) => (d === 0 ? a : a * BigInt(d)), 1n) * BigInt(itemSize(dtype));
    if (span > MAX_SPAN) throw new Error(`${where}: ${t} has an invalid shape [${shape}]: its dimensions multiply to ${span} bytes of ${dtype}, more than any tensor can hold`);
    const bytes = shape.includes(0) ? 0n : span;
    const [begin, end] = offsets as number[];
    if (BigInt(end - begin) !== bytes)
      throw new Error(`${where}: ${t} has data_offsets [${begin}, ${end}] that do not match its shape [${shape}] and dtype ${dtype} (${bytes} bytes)`);
    if (end > dataLength)
      throw new Error(`${where}: ${t} has data_offsets [${begin}, ${end}] that lie outside the file (its data section holds ${dataLength} bytes: is the file truncated?)`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The data section must be packed: sorted by offset, each tensor begins where the previous ends.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: Entry | undefined;
  for (const e of sorted) {
    const prevEnd = prev ? prev.end : 0;
    if (e.begin < prevEnd)
      throw new Error(`${where}: tensor ${quote(e.name)} (bytes [${e.begin}, ${e.end}]) overlaps tensor ${quote(prev!.name)} (bytes [${prev!.begin}, ${prev!.end}]): every tensor needs bytes of its own`);
    if (e.begin > prevEnd)
      throw new Error(
        `${where}: tensor ${quote(e.name)} begins at byte ${e.begin} of the data section, but ${prev ? `tensor ${quote(prev.name)} ends at ${prevEnd}` : 'the section begins at 0'}: the data must be packed without gaps (Python's safetensors refuses such files too)`,
      );
    prev = e;
  }
  const covered = prev ? prev.end : 0;
  if (covered !== dataLength)
    throw new Error(`${where}: the file has ${dataLength - covered} bytes after its last tensor that belong to no tensor (was it appended to, or are its data_offsets wrong?)`);
  return { entries, metadata };
}

function headerLength(prefix: Uint8Array, total: number, where: string): number {
  if (total < 8) throw new Error(`${where}: not a safetensors file (shorter than 8 bytes)`);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(total - 8)) throw new Error(`${where}: not a safetensors file (header length ${n} exceeds the file's ${total} bytes: is it truncated?)`);
  if (n > BigInt(MAX_HEADER)) throw new Error(`${where}: not a safetensors file (header length ${n} is above the format's limit of ${MAX_HEADER} bytes)`);
  return Number(n);
}

/** Tensors by name, and the file's `__metadata__`. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Options of {@link loadSafetensors} and {@link loadSafetensorsWithMetadata}. */
export interface LoadSafetensorsOptions {
  /**
   * Read the tensors into memory of their own instead of mapping the file (default false).
   * Use it when another program may rewrite the file in place while the tensors live (see
   * {@link loadSafetensors}). Buffers are always copied.
   */
  copy?: boolean;
}

/**
 * Loads a safetensors file or Buffer and returns its tensors by name (own properties, even a
 * tensor named `__proto__`). See {@link loadSafetensorsWithMetadata} for the metadata.
 *
 * From a path, the file is memory-mapped, private and copy-on-write: nothing is read until
 * used, and writing to a loaded tensor changes only this process's copy of the page, never
 * the file. What the mapping guarantees:
 * - saving over the path with transformer-native (`saveSafetensors`, `saveCheckpoint`, …) is
 *   safe: saves write a new file and rename it over the old one, so the mapped (old) file is
 *   left intact and loaded tensors keep their values; deleting the file is safe too.
 * - another program that rewrites the file in place (truncating it, as a plain
 *   `open(..., 'w')` does) while tensors from it are alive is not: the process can die with
 *   SIGBUS, or the tensors' values can change. Load with `{ copy: true }` then, which reads
 *   the tensors into memory of their own (one read per tensor).
 *
 * A Buffer is copied (the tensors never alias it). A file or Buffer that is not valid
 * safetensors throws an Error naming the file and the tensor at fault.
 */
export function loadSafetensors(source: string | Uint8Array, options?: LoadSafetensorsOptions): Record<string, Tensor> {
  return loadSafetensorsWithMetadata(source, options).tensors;
}

/**
 * Like {@link loadSafetensors}, also returning the header's `__metadata__` (string keys and
 * values, exactly as saved; `{}` when the file has none).
 */
export function loadSafetensorsWithMetadata(source: string | Uint8Array, options: LoadSafetensorsOptions = {}): SafetensorsContents {
  if (!isPlainObject(options)) typeError('loadSafetensors: options', 'an object { copy? }', options);
  if (options.copy !== undefined && typeof options.copy !== 'boolean') typeError('loadSafetensors: options.copy', 'a boolean', options.copy);
  if (typeof source === 'string') return loadFile(source, options.copy ?? false);
  if (!types.isUint8Array(source)) typeError('loadSafetensors', 'a file path or a Buffer', source);
  const where = 'loadSafetensors(buffer)';
  const n = headerLength(source, source.byteLength, where);
  const { entries, metadata } = parseHeader(source.subarray(8, 8 + n), source.byteLength - 8 - n, where);
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const e of entries) {
      const code = dtypeCode(e.dtype);
      const t = Tensor._wrap(native.fromData(source.subarray(8 + n + e.begin, 8 + n + e.end), code, e.shape, code, null, false));
      made.push(t);
      setOwn(tensors, e.name, t);
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return { tensors, metadata };
}

/** Reads `buf.length` bytes at `position`, or throws when the file ends first. */
function readFully(fd: number, buf: Uint8Array, position: number, where: string): void {
  let off = 0;
  while (off < buf.byteLength) {
    const got = fs.readSync(fd, buf, off, buf.byteLength - off, position + off);
    if (got === 0) throw new Error(`${where}: the file ended at byte ${position + off} while reading it (was it truncated while being loaded?)`);
    off += got;
  }
}

/** A path that opens the very file `fd` is open on (so the addon maps what was checked), or undefined. */
function pathOfFd(fd: number): string | undefined {
  const p = process.platform === 'linux' ? `/proc/self/fd/${fd}` : process.platform === 'darwin' || process.platform === 'freebsd' ? `/dev/fd/${fd}` : undefined;
  return p !== undefined && fs.existsSync(p) ? p : undefined;
}

function loadFile(file: string, copy: boolean): SafetensorsContents {
  const where = `loadSafetensors('${file}')`;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0)); // non-blocking: a FIFO must not hang the load
  } catch (e) {
    const err = new Error(`${where}: cannot open the file: ${(e as Error).message}`, { cause: e }) as NodeJS.ErrnoException;
    err.code = (e as NodeJS.ErrnoException).code;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`${where}: is a directory, not a safetensors file`);
    if (!st.isFile()) throw new Error(`${where}: is not a regular file (a device, pipe or socket), so it cannot be a safetensors file`);
    const size = st.size;
    const prefix = Buffer.alloc(8);
    if (size >= 8) readFully(fd, prefix, 0, where);
    const n = headerLength(prefix, size, where);
    const head = Buffer.alloc(n);
    readFully(fd, head, 8, where);
    const { entries, metadata } = parseHeader(head, size - 8 - n, where);
    const tensors: Record<string, Tensor> = {};
    if (copy) {
      const made: Tensor[] = [];
      try {
        const scratch = Buffer.allocUnsafe(entries.reduce((m, e) => Math.max(m, e.end - e.begin), 0));
        for (const e of entries) {
          const bytes = scratch.subarray(0, e.end - e.begin);
          readFully(fd, bytes, 8 + n + e.begin, where);
          const code = dtypeCode(e.dtype);
          const t = Tensor._wrap(native.fromData(bytes, code, e.shape, code, null, false));
          made.push(t);
          setOwn(tensors, e.name, t);
        }
      } catch (e) {
        for (const t of made) t.dispose();
        throw e;
      }
    } else {
      // Map the file this descriptor is open on: the path may meanwhile name a newer file.
      const mapped = pathOfFd(fd) ?? file;
      let ids: number[];
      try {
        ids = native.mapSafetensors(mapped, 8 + n, entries.map((e) => [dtypeCode(e.dtype), e.shape, e.begin, e.end]));
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message.split(mapped).join(file)}`, { cause: e });
      }
      entries.forEach((e, i) => setOwn(tensors, e.name, Tensor._wrap(ids[i])));
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** A string that is not well-formed Unicode (a lone surrogate) cannot be stored as UTF-8 JSON. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What a save writes: the 8-byte length, the header and each tensor's byte count. */
interface Plan {
  prefix: Buffer;
  head: Buffer;
  items: { tensor: Tensor; bytes: number }[];
  dataBytes: number;
}

function plan(tensors: Record<string, Tensor>, metadata: Record<string, string> | undefined, where: string): Plan {
  if (tensors === null || typeof tensors !== 'object') typeError(`${where}: tensors`, 'an object of named Tensors', tensors);
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) typeError(`${where}: metadata`, 'an object of strings', metadata);
    const fields: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') typeError(`${where}: metadata '${k}'`, 'a string', v);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) throw new RangeError(`${where}: metadata ${quote(k)} contains a lone UTF-16 surrogate, which UTF-8 cannot store (Python could not read the file)`);
      fields.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"${METADATA_KEY}":{${fields.join(',')}}`);
  }
  const items: Plan['items'] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new RangeError(`${where}: a tensor cannot be named '${METADATA_KEY}': the safetensors format reserves that key for the metadata (pass metadata as the third argument, or rename the tensor)`);
    if (LONE_SURROGATE.test(name)) throw new RangeError(`${where}: the tensor name ${quote(name)} contains a lone UTF-16 surrogate, which UTF-8 cannot store`);
    if (!(t instanceof Tensor)) typeError(`${where}: '${name}'`, 'a Tensor', t);
    void t.id; // throws for a disposed tensor
    const shape = t.shape;
    const bytes = shape.reduce((a, b) => a * b, 1) * itemSize(t.dtype);
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: FROM_DTYPE[t.dtype], shape, data_offsets: [offset, offset + bytes] })}`);
    items.push({ tensor: t, bytes });
    offset += bytes;
  }
  const json = `{${parts.join(',')}}`;
  const raw = Buffer.byteLength(json, 'utf8');
  const head = Buffer.from(json + ' '.repeat((8 - (raw % 8)) % 8), 'utf8'); // keeps the data section 8-byte aligned
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  return { prefix, head, items, dataBytes: offset };
}

/** The bytes of one planned tensor (moved to CPU, made contiguous; no copy when it already is both). */
function tensorBytes(item: Plan['items'][number], where: string): Uint8Array {
  const bytes = new Uint8Array(native.toArrayBuffer(item.tensor.id, true));
  if (bytes.byteLength !== item.bytes) throw new Error(`${where}: a tensor changed size while being saved (${item.bytes} bytes expected, ${bytes.byteLength} found)`);
  return bytes;
}

/**
 * Serialises tensors (moved to CPU, made contiguous) to safetensors bytes. A tensor cannot be
 * named `__metadata__` (the format reserves it); metadata values must be strings.
 */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Buffer {
  const where = 'saveSafetensors';
  const p = plan(tensors, metadata, where);
  const out = Buffer.allocUnsafe(8 + p.head.length + p.dataBytes);
  p.prefix.copy(out, 0);
  p.head.copy(out, 8);
  let at = 8 + p.head.length;
  for (const item of p.items) {
    out.set(tensorBytes(item, where), at);
    at += item.bytes;
  }
  return out;
}

/**
 * Writes tensors to a safetensors file, atomically: the file at `path` is replaced by the
 * complete new file in one step (a temporary file in the same folder, fsync'ed, renamed over
 * it), so a crash or kill during the save leaves the previous file intact, and tensors loaded
 * (memory-mapped) from the previous file keep their values. The bytes are streamed tensor by
 * tensor: the file is never built in memory. See {@link serializeSafetensors} for the rules.
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  if (typeof path !== 'string') typeError('saveSafetensors: path', 'a file path', path);
  const where = 'saveSafetensors';
  const p = plan(tensors, metadata, where);
  writeFileAtomicWith(
    path,
    (sink) => {
      sink.write(p.prefix);
      sink.write(p.head);
      for (const item of p.items) sink.write(tensorBytes(item, where));
    },
    where,
  );
}
