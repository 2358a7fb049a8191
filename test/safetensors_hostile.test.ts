/**
 * Hostile safetensors: crafted files (truncated at every region boundary, bad header lengths,
 * headers that are not JSON objects, bad dtypes, shapes and offsets, overlapping, duplicate
 * and gapped layouts, bad metadata, bad UTF-8, things that are not files) must each throw a
 * JS Error that names the file and says what is wrong; odd but valid files must load. Every
 * load runs in a child process (on the dist build) three ways (mapped, `copy: true`, from a
 * Buffer), so a crash fails the test instead of killing jest. A fast-check property mutates
 * random bytes of a valid file: each mutant loads (with the original's structure when only
 * data bytes changed) or throws an Error. Also: `__proto__` and metadata round trips, the
 * reserved `__metadata__` name, and tensors of a mapped file surviving saves over it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tn from '../lib';
import { expectThrows } from './helpers';

const ENTRY = path.resolve(__dirname, '..', 'dist', 'lib', 'index.js');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-hostile-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a script in a fresh node (with `tn` the dist build); returns its exit and output. */
function child(script: string, args: string[] = [], timeout = 60_000): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const file = path.join(dir, `child-${Math.random().toString(36).slice(2)}.js`);
  fs.writeFileSync(file, `const tn = require(${JSON.stringify(ENTRY)});\n${script}`);
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', timeout, cwd: path.resolve(__dirname, '..') });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A safetensors file from raw header bytes (or text) and data. */
function file(header: string | Buffer, data: Buffer = Buffer.alloc(0), length?: bigint): Buffer {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const p = Buffer.alloc(8);
  p.writeBigUInt64LE(length ?? BigInt(h.length));
  return Buffer.concat([p, h, data]);
}

// The valid file the cases are made from: a: I32 [2, 2] at [0, 16), b: U8 [3] at [16, 19).
const A = '{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}';
const B = '{"dtype":"U8","shape":[3],"data_offsets":[16,19]}';
const HEADER = `{"a":${A},"b":${B}}`;
const DATA = Buffer.concat([Buffer.from(new Int32Array([1, 2, 3, 4]).buffer), Buffer.from([5, 6, 7])]);
const GOOD = file(HEADER, DATA);
const N = Buffer.byteLength(HEADER); // header length
const f32 = (n: number): Buffer => Buffer.alloc(4 * n);
const one = (entry: string, data: Buffer = f32(1), name = 'a'): Buffer => file(`{"${name}":${entry}}`, data);
const entry = (dtype: unknown, shape: unknown, offsets: unknown): string => `{"dtype":${JSON.stringify(dtype)},"shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;

/** A crafted case: bytes to write (or a path maker for things that are not such files) and the expected message. */
interface Bad {
  name: string;
  bytes?: () => Buffer;
  /** Makes the path to load (a folder, a FIFO...): the Buffer mode is skipped. */
  at?: (p: string) => string | undefined;
  message: RegExp;
}

const truncations: Bad[] = [
  [0, /shorter than 8 bytes/],
  [4, /shorter than 8 bytes/],
  [7, /shorter than 8 bytes/],
  [8, /header length \d+ exceeds/],
  [8 + 1, /header length \d+ exceeds/],
  [8 + (N >> 1), /header length \d+ exceeds/],
  [8 + N - 1, /header length \d+ exceeds/],
  [8 + N, /outside the file/],
  [8 + N + 1, /outside the file/],
  [8 + N + 8, /outside the file/],
  [8 + N + 15, /outside the file/],
  [8 + N + 16, /'b' has data_offsets .* outside the file/],
  [8 + N + 17, /'b' has data_offsets .* outside the file/],
  [GOOD.length - 1, /'b' has data_offsets .* outside the file/],
].map(([at, message]) => ({ name: `truncated to ${at} of ${GOOD.length} bytes`, bytes: () => GOOD.subarray(0, at as number), message: message as RegExp }));

const BAD: Bad[] = [
  ...truncations,
  { name: 'one byte after the data', bytes: () => Buffer.concat([GOOD, Buffer.from([0])]), message: /1 bytes after its last tensor/ },
  { name: 'eight bytes after the data', bytes: () => Buffer.concat([GOOD, Buffer.alloc(8)]), message: /8 bytes after its last tensor/ },
  // header length
  { name: 'header length 0', bytes: () => file('', DATA), message: /not JSON/ },
  { name: 'header length 1', bytes: () => file('{', DATA), message: /not JSON/ },
  { name: 'header length one short', bytes: () => file(HEADER, DATA, BigInt(N - 1)), message: /not JSON/ },
  { name: 'header length one long', bytes: () => file(HEADER, DATA, BigInt(N + 1)), message: /not JSON/ },
  { name: 'header length past the file by one', bytes: () => file(HEADER, DATA, BigInt(N + DATA.length + 1)), message: /exceeds the file/ },
  { name: 'header length 2^40', bytes: () => file(HEADER, DATA, 1n << 40n), message: /exceeds the file/ },
  { name: 'header length 2^63', bytes: () => file(HEADER, DATA, 1n << 63n), message: /exceeds the file/ },
  { name: 'header length 2^64-1', bytes: () => file(HEADER, DATA, 0xffffffffffffffffn), message: /exceeds the file/ },
  // header text
  { name: 'header not JSON', bytes: () => file('{"a": {"dtype": "F32", ', DATA), message: /not JSON/ },
  { name: 'header a JSON array', bytes: () => file('[1, 2, 3]'), message: /not a JSON object but array/ },
  { name: 'header a JSON string', bytes: () => file('"safetensors"'), message: /not a JSON object but string/ },
  { name: 'header a JSON number', bytes: () => file('42'), message: /not a JSON object but number/ },
  { name: 'header JSON null', bytes: () => file('null'), message: /not a JSON object but null/ },
  { name: 'header JSON true', bytes: () => file('true'), message: /not a JSON object but boolean/ },
  { name: 'header padded with NUL bytes', bytes: () => file(Buffer.concat([Buffer.from(HEADER), Buffer.alloc(5)]), DATA), message: /not JSON/ },
  { name: 'header starting with a UTF-8 BOM', bytes: () => file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(HEADER)]), DATA), message: /not JSON/ },
  { name: 'header with an invalid UTF-8 byte', bytes: () => file(Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from(`":${A}}`)]), f32(4)), message: /not valid UTF-8/ },
  { name: 'header with an overlong UTF-8 sequence', bytes: () => file(Buffer.concat([Buffer.from('{"'), Buffer.from([0xc0, 0xaf]), Buffer.from(`":${A}}`)]), f32(4)), message: /not valid UTF-8/ },
  { name: 'header with a UTF-8-encoded surrogate', bytes: () => file(Buffer.concat([Buffer.from('{"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`":${A}}`)]), f32(4)), message: /not valid UTF-8/ },
  { name: 'nested nonsense', bytes: () => file('{"a":{"dtype":{"x":[[[{}]]]},"shape":{"0":1},"data_offsets":"0-4"}}', f32(1)), message: /'a' has dtype object/ },
  { name: 'arrays nested 5000 deep', bytes: () => file(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`), message: /nests deeper/ },
  // entries
  { name: 'entry a number', bytes: () => file('{"a":5}'), message: /'a' has number 5 as its header entry/ },
  { name: 'entry an array', bytes: () => file('{"a":[0,4]}', f32(1)), message: /'a' has array .* as its header entry/ },
  { name: 'entry null', bytes: () => file('{"a":null}'), message: /'a' has null as its header entry/ },
  { name: 'entry a string', bytes: () => file('{"a":"F32"}'), message: /'a' has string 'F32' as its header entry/ },
  { name: 'dtype missing', bytes: () => one('{"shape":[1],"data_offsets":[0,4]}'), message: /'a' has dtype undefined/ },
  { name: 'dtype unknown (C64)', bytes: () => one(entry('C64', [1], [0, 8]), f32(2)), message: /'a' has dtype string 'C64', which transformer-native does not support/ },
  { name: 'dtype Python has but we do not (F8_E4M3)', bytes: () => one(entry('F8_E4M3', [4], [0, 4])), message: /dtype string 'F8_E4M3'/ },
  { name: 'dtype in lower case', bytes: () => one(entry('f32', [1], [0, 4])), message: /dtype string 'f32'/ },
  { name: 'dtype a number', bytes: () => one(entry(1, [1], [0, 4])), message: /dtype number 1/ },
  { name: 'dtype __proto__', bytes: () => one(entry('__proto__', [1], [0, 4])), message: /dtype string '__proto__'/ },
  { name: 'dtype toString', bytes: () => one(entry('toString', [1], [0, 4])), message: /dtype string 'toString'/ },
  { name: 'shape missing', bytes: () => one('{"dtype":"F32","data_offsets":[0,4]}'), message: /'a' has an invalid shape undefined/ },
  { name: 'shape a number', bytes: () => one(entry('F32', 1, [0, 4])), message: /invalid shape number 1/ },
  { name: 'shape negative', bytes: () => one(entry('F32', [-1], [0, 4])), message: /invalid shape array \[number -1\]/ },
  { name: 'shape not an integer', bytes: () => one(entry('F32', [1.5], [0, 4])), message: /invalid shape/ },
  { name: 'shape with a string', bytes: () => one(entry('F32', ['1'], [0, 4])), message: /invalid shape/ },
  { name: 'shape nested', bytes: () => one(entry('F32', [[1]], [0, 4])), message: /invalid shape/ },
  { name: 'shape 1e400 (infinite)', bytes: () => one('{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}'), message: /invalid shape/ },
  { name: 'shape whose product overflows 64 bits', bytes: () => one(entry('F32', [2 ** 32, 2 ** 32, 16], [0, 0]), Buffer.alloc(0)), message: /invalid shape .* multiply to/ },
  { name: 'shape whose product passes 2^53', bytes: () => one(entry('U8', [2 ** 27, 2 ** 27], [0, 4])), message: /invalid shape .* multiply to/ },
  { name: 'empty shape with huge other dimensions', bytes: () => one(entry('F32', [2 ** 40, 2 ** 40, 0], [0, 0]), Buffer.alloc(0)), message: /invalid shape .* multiply to/ },
  { name: 'data_offsets missing', bytes: () => one('{"dtype":"F32","shape":[1]}'), message: /'a' has invalid data_offsets undefined/ },
  { name: 'data_offsets with one number', bytes: () => one(entry('F32', [1], [4])), message: /invalid data_offsets/ },
  { name: 'data_offsets with three numbers', bytes: () => one(entry('F32', [1], [0, 4, 8])), message: /invalid data_offsets/ },
  { name: 'data_offsets as strings', bytes: () => one(entry('F32', [1], ['0', '4'])), message: /invalid data_offsets/ },
  { name: 'data_offsets negative', bytes: () => one(entry('F32', [1], [-4, 0])), message: /invalid data_offsets/ },
  { name: 'data_offsets not integers', bytes: () => one(entry('F32', [1], [0, 4.5])), message: /invalid data_offsets/ },
  { name: 'data_offsets beyond 2^53', bytes: () => one('{"dtype":"F32","shape":[1],"data_offsets":[9007199254740993,9007199254740997]}'), message: /invalid data_offsets/ },
  { name: 'data_offsets reversed', bytes: () => one(entry('F32', [0], [4, 0])), message: /do not match its shape/ },
  { name: 'data_offsets past the end', bytes: () => one(entry('F32', [1], [4, 8])), message: /outside the file/ },
  { name: 'data_offsets far past the end', bytes: () => one(entry('F32', [1], [2 ** 50, 2 ** 50 + 4])), message: /outside the file/ },
  { name: 'data_offsets not matching the shape', bytes: () => one(entry('F32', [2], [0, 4])), message: /do not match its shape \[2\] and dtype float32 \(8 bytes\)/ },
  // layout
  { name: 'overlapping tensors', bytes: () => file(`{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [4, 12])}}`, f32(3)), message: /'b' \(bytes \[4, 12\]\) overlaps tensor 'a'/ },
  { name: 'overlapping tensors out of order', bytes: () => file(`{"b":${entry('F32', [2], [4, 12])},"a":${entry('F32', [2], [0, 8])}}`, f32(3)), message: /'b' \(bytes \[4, 12\]\) overlaps tensor 'a'/ },
  { name: 'two tensors on the same bytes', bytes: () => file(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [0, 4])}}`, f32(1)), message: /overlaps/ },
  { name: 'a tensor inside another', bytes: () => file(`{"a":${entry('F32', [4], [0, 16])},"b":${entry('F32', [1], [4, 8])}}`, f32(4)), message: /'b' .* overlaps tensor 'a'/ },
  { name: 'an empty tensor inside another', bytes: () => file(`{"a":${entry('F32', [2], [0, 8])},"z":${entry('F32', [0], [4, 4])}}`, f32(2)), message: /'z' .* overlaps tensor 'a'/ },
  { name: 'a gap between tensors', bytes: () => file(`{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [8, 12])}}`, f32(3)), message: /'b' begins at byte 8 .* 'a' ends at 4: .* without gaps/ },
  { name: 'a gap before the first tensor', bytes: () => one(entry('F32', [1], [4, 8]), f32(2)), message: /begins at byte 4 .* the section begins at 0/ },
  { name: 'an empty tensor past the end', bytes: () => file(`{"a":${entry('F32', [1], [0, 4])},"z":${entry('F32', [0], [8, 8])}}`, f32(1)), message: /'z' has data_offsets \[8, 8\] that lie outside the file/ },
  { name: 'data but no tensors', bytes: () => file('{}', f32(1)), message: /4 bytes after its last tensor/ },
  // names and keys
  { name: 'a duplicate tensor name', bytes: () => file(`{"a":${entry('F32', [1], [0, 4])},"a":${entry('F32', [1], [4, 8])}}`, f32(2)), message: /the name 'a' appears twice/ },
  { name: 'a duplicate name spelled with an escape', bytes: () => file(`{"a":${entry('F32', [1], [0, 4])},"\\u0061":${entry('F32', [1], [4, 8])}}`, f32(2)), message: /the name 'a' appears twice/ },
  { name: 'a duplicate name with escaped quotes', bytes: () => file(`{"x\\"y":${entry('F32', [1], [0, 4])},"x\\u0022y":${entry('F32', [1], [4, 8])}}`, f32(2)), message: /the name 'x"y' appears twice/ },
  { name: 'a duplicate key inside an entry', bytes: () => one('{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}'), message: /the key 'dtype' appears twice in 'a'/ },
  { name: 'a duplicate __metadata__', bytes: () => file(`{"__metadata__":{"x":"1"},"__metadata__":{"y":"2"},"a":${entry('F32', [1], [0, 4])}}`, f32(1)), message: /'__metadata__' appears twice/ },
  { name: 'a duplicate metadata key', bytes: () => file(`{"__metadata__":{"x":"1","x":"2"},"a":${entry('F32', [1], [0, 4])}}`, f32(1)), message: /the key 'x' appears twice in '__metadata__'/ },
  // metadata
  { name: 'a metadata value that is a number', bytes: () => file(`{"__metadata__":{"x":1},"a":${A}}`, f32(4)), message: /metadata 'x' is number 1, but metadata values must be strings/ },
  { name: 'a metadata value that is null', bytes: () => file(`{"__metadata__":{"x":null},"a":${A}}`, f32(4)), message: /metadata 'x' is null/ },
  { name: 'a metadata value that is an object', bytes: () => file(`{"__metadata__":{"x":{"y":"z"}},"a":${A}}`, f32(4)), message: /metadata 'x' is object/ },
  { name: 'metadata an array', bytes: () => file(`{"__metadata__":["x"],"a":${A}}`, f32(4)), message: /__metadata__ is array/ },
  { name: 'metadata a string', bytes: () => file(`{"__metadata__":"x","a":${A}}`, f32(4)), message: /__metadata__ is string/ },
  // not files
  { name: 'a directory', at: (p) => (fs.mkdirSync(p), p), message: /is a directory, not a safetensors file/ },
  { name: 'a missing file', at: (p) => p, message: /cannot open the file: ENOENT/ },
  { name: 'a FIFO', at: (p) => (spawnSync('mkfifo', [p]).status === 0 ? p : undefined), message: /is not a regular file/ },
  { name: 'a character device', at: () => (fs.existsSync('/dev/null') ? '/dev/null' : undefined), message: /is not a regular file/ },
  { name: 'a symbolic link loop', at: (p) => (fs.symlinkSync(p, p), p), message: /cannot open the file: ELOOP/ },
];

/** Odd files that are valid: each must load the same three ways. */
interface Good {
  name: string;
  bytes: () => Buffer;
  tensors: Record<string, { dtype: string; shape: number[]; values: string[] }>;
  metadata?: Record<string, string>;
}
const i32 = (...v: number[]): Buffer => Buffer.from(new Int32Array(v).buffer);
/** Pads a header with spaces so the data section starts at an odd byte. */
const oddHeader = (json: string): string => json + ' '.repeat((9 - ((8 + json.length) % 8)) % 8);
const GOOD_CASES: Good[] = [
  { name: 'the base file', bytes: () => GOOD, tensors: { a: { dtype: 'int32', shape: [2, 2], values: ['1', '2', '3', '4'] }, b: { dtype: 'uint8', shape: [3], values: ['5', '6', '7'] } } },
  { name: 'an empty header', bytes: () => file('{}'), tensors: {} },
  { name: 'only metadata', bytes: () => file('{"__metadata__":{"format":"pt"}}'), tensors: {}, metadata: { format: 'pt' } },
  { name: 'metadata null', bytes: () => file(`{"__metadata__":null,"a":${entry('I32', [1], [0, 4])}}`, i32(9)), tensors: { a: { dtype: 'int32', shape: [1], values: ['9'] } }, metadata: {} },
  { name: 'only empty tensors', bytes: () => file(`{"z":${entry('F32', [0, 3], [0, 0])},"y":${entry('I64', [2, 0], [0, 0])}}`), tensors: { z: { dtype: 'float32', shape: [0, 3], values: [] }, y: { dtype: 'int64', shape: [2, 0], values: [] } } },
  { name: 'empty tensors at both ends', bytes: () => file(`{"z":${entry('F32', [0], [0, 0])},"a":${entry('I32', [1], [0, 4])},"y":${entry('F32', [0], [4, 4])}}`, i32(3)), tensors: { z: { dtype: 'float32', shape: [0], values: [] }, a: { dtype: 'int32', shape: [1], values: ['3'] }, y: { dtype: 'float32', shape: [0], values: [] } } },
  { name: 'an empty tensor with a huge dimension', bytes: () => one(entry('U8', [0, 2 ** 40], [0, 0]), Buffer.alloc(0), 'z'), tensors: { z: { dtype: 'uint8', shape: [0, 2 ** 40], values: [] } } },
  { name: 'a scalar', bytes: () => one(entry('I32', [], [0, 4]), i32(-7)), tensors: { a: { dtype: 'int32', shape: [], values: ['-7'] } } },
  { name: 'an odd header length (misaligned data)', bytes: () => file(oddHeader(`{"a":${entry('I32', [2], [0, 8])}}`), i32(11, -12)), tensors: { a: { dtype: 'int32', shape: [2], values: ['11', '-12'] } } },
  {
    name: 'a tensor at an odd offset',
    bytes: () => file(`{"u":${entry('U8', [1], [0, 1])},"a":${entry('I64', [2], [1, 17])}}`, Buffer.concat([Buffer.from([200]), Buffer.from(new BigInt64Array([-5n, 2n ** 62n]).buffer)])),
    tensors: { u: { dtype: 'uint8', shape: [1], values: ['200'] }, a: { dtype: 'int64', shape: [2], values: ['-5', String(2n ** 62n)] } },
  },
  { name: 'offsets out of header order', bytes: () => file(`{"b":${B},"a":${A}}`, DATA), tensors: { b: { dtype: 'uint8', shape: [3], values: ['5', '6', '7'] }, a: { dtype: 'int32', shape: [2, 2], values: ['1', '2', '3', '4'] } } },
  { name: 'a tensor named __proto__', bytes: () => file(`{"__proto__":${entry('I32', [1], [0, 4])}}`, i32(42)), tensors: { ['__proto__']: { dtype: 'int32', shape: [1], values: ['42'] } } },
  { name: 'tensors named constructor and toString', bytes: () => file(`{"constructor":${entry('U8', [1], [0, 1])},"toString":${entry('U8', [1], [1, 2])}}`, Buffer.from([1, 2])), tensors: { constructor: { dtype: 'uint8', shape: [1], values: ['1'] }, toString: { dtype: 'uint8', shape: [1], values: ['2'] } } },
  { name: 'names with escapes and non-ASCII', bytes: () => file(`{"\\u00e9\\n\\"q\\"":${entry('U8', [1], [0, 1])},"日本":${entry('U8', [1], [1, 2])},"":${entry('U8', [1], [2, 3])}}`, Buffer.from([1, 2, 3])), tensors: { 'é\n"q"': { dtype: 'uint8', shape: [1], values: ['1'] }, 日本: { dtype: 'uint8', shape: [1], values: ['2'] }, '': { dtype: 'uint8', shape: [1], values: ['3'] } } },
  { name: 'metadata keyed __proto__', bytes: () => file(`{"__metadata__":{"__proto__":"p","k":""},"a":${entry('U8', [1], [0, 1])}}`, Buffer.from([1])), tensors: { a: { dtype: 'uint8', shape: [1], values: ['1'] } }, metadata: { ['__proto__']: 'p', k: '' } },
  { name: 'whitespace around the JSON', bytes: () => file(` \n\t{ "a" : ${entry('U8', [1], [0, 1])} }\r\n  `, Buffer.from([4])), tensors: { a: { dtype: 'uint8', shape: [1], values: ['4'] } } },
  { name: 'unknown fields in an entry', bytes: () => one('{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":{"x":[1,2]}}', Buffer.from([8])), tensors: { a: { dtype: 'uint8', shape: [1], values: ['8'] } } },
];

/** What the child reports for one load. */
interface Outcome {
  ok: boolean;
  isError?: boolean;
  message?: string;
  tensors?: Record<string, { own: boolean; dtype: string; shape: number[]; values: string[] }>;
  metadata?: Record<string, string>;
  metadataOwn?: string[];
}
const MODES = ['mapped', 'copy', 'buffer'] as const;

/** Loads every path in `list` the three ways, in one child process. */
const LOADER = `
const fs = require('node:fs');
const list = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = {};
for (const { name, file, buffer } of list) {
  out[name] = {};
  for (const mode of ['mapped', 'copy', 'buffer']) {
    if (mode === 'buffer' && !buffer) continue;
    try {
      const src = mode === 'buffer' ? fs.readFileSync(file) : file;
      const r = tn.loadSafetensorsWithMetadata(src, mode === 'copy' ? { copy: true } : undefined);
      const tensors = {};
      for (const [k, t] of Object.entries(r.tensors)) {
        Object.defineProperty(tensors, k, { enumerable: true, value: {
          own: Object.prototype.hasOwnProperty.call(r.tensors, k), dtype: t.dtype, shape: t.shape,
          values: Array.from(t.toTypedArray({ copy: true }), String) } });
        t.dispose();
      }
      out[name][mode] = { ok: true, tensors, metadata: r.metadata, metadataOwn: Object.getOwnPropertyNames(r.metadata) };
    } catch (e) {
      out[name][mode] = { ok: false, isError: e instanceof Error, message: String(e && e.message) };
    }
  }
}
process.stdout.write(JSON.stringify(out));
`;

describe('crafted files', () => {
  let results: Record<string, Partial<Record<(typeof MODES)[number], Outcome>>>;
  const paths = new Map<string, string>();
  beforeAll(() => {
    const list: { name: string; file: string; buffer: boolean }[] = [];
    [...BAD, ...GOOD_CASES].forEach((c, i) => {
      const p = path.join(dir, `case-${i}.safetensors`);
      let at: string | undefined = p;
      if ('bytes' in c && c.bytes) fs.writeFileSync(p, c.bytes());
      else at = (c as Bad).at!(p);
      if (at === undefined) return; // not possible on this system (no mkfifo, no /dev/null)
      paths.set(c.name, at);
      list.push({ name: c.name, file: at, buffer: 'bytes' in c && c.bytes !== undefined });
    });
    const listFile = path.join(dir, 'cases.json');
    fs.writeFileSync(listFile, JSON.stringify(list));
    const r = child(LOADER, [listFile]);
    if (r.status !== 0) throw new Error(`the loading child died (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
    results = JSON.parse(r.stdout);
  });

  test(`there are at least 80 hostile cases`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(80);
    expect(new Set(BAD.map((c) => c.name)).size).toBe(BAD.length);
  });

  test.each(BAD.map((c) => [c.name, c] as const))('%s: a clear Error, mapped, copied and from a Buffer', (_name, c) => {
    const got = results[c.name];
    if (!paths.has(c.name)) return; // unsupported here
    const modes = c.bytes ? MODES : (['mapped', 'copy'] as const);
    for (const mode of modes) {
      const o = got[mode]!;
      expect([mode, o.ok, o.isError]).toEqual([mode, false, true]);
      expect(o.message).toMatch(c.message);
      expect(o.message).not.toMatch(/Exception raised from|\.cpp|c10::|undefined is not|Cannot read prop/);
      expect(o.message).toMatch(mode === 'buffer' ? /^loadSafetensors\(buffer\): / : /^loadSafetensors\('/);
      if (mode !== 'buffer') expect(o.message).toContain(paths.get(c.name)!);
    }
  });

  test.each(GOOD_CASES.map((c) => [c.name, c] as const))('%s: loads, the same three ways', (_name, c) => {
    for (const mode of MODES) {
      const o = results[c.name][mode]!;
      if (!o.ok) throw new Error(`${mode}: ${o.message}`);
      expect(Object.keys(o.tensors!)).toEqual(Object.keys(c.tensors));
      for (const [k, t] of Object.entries(c.tensors)) expect([mode, k, o.tensors![k]]).toEqual([mode, k, { own: true, ...t }]);
      expect(o.metadata).toEqual(c.metadata ?? {});
      expect(o.metadataOwn).toEqual(Object.getOwnPropertyNames(c.metadata ?? {}));
    }
  });
});

describe('random byte mutations of a valid file', () => {
  test('300 mutants each load (the same structure when only data changed) or throw an Error; no crash', () => {
    const original = tn.tidy(() =>
      tn.serializeSafetensors(
        { weight: tn.arange(256).reshape(4, 64).int(), bias: tn.tensor([1, 2, 3], { dtype: 'uint8' }), step: tn.tensor(new BigInt64Array([7n])), empty: tn.zeros([0, 2]) },
        { format: 'pt', note: 'mutate me' },
      ),
    );
    const src = path.join(dir, 'mutant-original.safetensors');
    fs.writeFileSync(src, original);
    const r = child(
      `
const fc = require(${JSON.stringify(require.resolve('fast-check'))});
const fs = require('node:fs');
const path = require('node:path');
const original = fs.readFileSync(process.argv[2]);
const n = Number(original.readBigUInt64LE(0));
const dataStart = 8 + n;
const shapeOf = (r) => JSON.stringify(Object.entries(r.tensors).map(([k, t]) => [k, t.dtype, t.shape]));
const base = tn.loadSafetensors(original);
const baseShape = shapeOf({ tensors: base });
const file = path.join(path.dirname(process.argv[2]), 'mutant.safetensors');
const stats = { loaded: 0, threw: 0, dataOnly: 0 };
fc.assert(fc.property(
  fc.array(fc.record({ at: fc.nat({ max: original.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
  fc.option(fc.integer({ min: 0, max: original.length + 8 }), { freq: 5 }),
  (edits, cut) => {
    let b = Buffer.from(original);
    for (const e of edits) b[e.at] = e.byte;
    if (cut !== null) b = cut <= b.length ? b.subarray(0, cut) : Buffer.concat([b, Buffer.alloc(cut - b.length, 0x20)]);
    const dataOnly = cut === null && edits.every((e) => e.at >= dataStart);
    fs.writeFileSync(file, b);
    for (const src of [b, file]) {
      for (const copy of [false, true]) {
        let r;
        try {
          r = tn.loadSafetensorsWithMetadata(src, { copy });
        } catch (e) {
          if (!(e instanceof Error) || !/^loadSafetensors/.test(e.message) || /\\.cpp|Exception raised/.test(e.message)) throw new Error('not a clear Error: ' + e);
          if (dataOnly) throw new Error('a mutation of data bytes only was refused: ' + e.message);
          stats.threw++;
          continue;
        }
        stats.loaded++;
        let bytes = 0;
        for (const t of Object.values(r.tensors)) { t.sum(); bytes += t.numel() * { int32: 4, uint8: 1, int64: 8, float32: 4, float64: 8, float16: 2, bfloat16: 2, int16: 2, int8: 1, bool: 1 }[t.dtype]; }
        const n2 = Number(b.readBigUInt64LE(0));
        if (bytes !== b.length - 8 - n2) throw new Error('the tensors do not cover the data section');
        if (dataOnly) {
          stats.dataOnly++;
          if (shapeOf(r) !== baseShape) throw new Error('data-only mutation changed the structure: ' + shapeOf(r));
          const w = r.tensors.weight.toTypedArray({ copy: true });
          const off = dataStart + JSON.parse(b.subarray(8, dataStart).toString()).weight.data_offsets[0];
          if (!Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(b.subarray(off, off + w.byteLength))) throw new Error('loaded values differ from the file bytes');
        }
        for (const t of Object.values(r.tensors)) t.dispose();
      }
    }
  }), { numRuns: 300, seed: 11 });
process.stdout.write(JSON.stringify(stats));
`,
      [src],
    );
    if (r.status !== 0) throw new Error(`the mutating child failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-3000)}`);
    const stats = JSON.parse(r.stdout) as { loaded: number; threw: number; dataOnly: number };
    expect(stats.loaded + stats.threw).toBe(300 * 4);
    expect(stats.threw).toBeGreaterThan(0);
    expect(stats.dataOnly).toBeGreaterThan(0);
  });
});

describe('names and metadata round-trip exactly', () => {
  test('a tensor named __proto__ saves and loads as an own property', () => {
    tn.tidy(() => {
      const tensors: Record<string, tn.Tensor> = {};
      Object.defineProperty(tensors, '__proto__', { value: tn.tensor([1, 2], { dtype: 'int32' }), enumerable: true });
      tensors.w = tn.tensor([3], { dtype: 'int32' });
      const p = path.join(dir, 'proto.safetensors');
      tn.saveSafetensors(p, tensors);
      for (const back of [tn.loadSafetensors(p), tn.loadSafetensors(p, { copy: true }), tn.loadSafetensors(fs.readFileSync(p))]) {
        expect(Object.keys(back)).toEqual(['__proto__', 'w']);
        expect(Object.prototype.hasOwnProperty.call(back, '__proto__')).toBe(true);
        expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(back, '__proto__')!.value.toArray()).toEqual([1, 2]);
      }
    });
  });

  test('metadata keys and values come back exactly, in order', () => {
    const meta: Record<string, string> = JSON.parse('{"__proto__":"p","":"empty key","z":"","a":"ünïcödé ✓ \\n \\"","constructor":"c"}');
    tn.tidy(() => {
      const p = path.join(dir, 'meta.safetensors');
      tn.saveSafetensors(p, { w: tn.zeros([1]) }, meta);
      const back = tn.loadSafetensorsWithMetadata(p).metadata;
      expect(Object.getOwnPropertyNames(back)).toEqual(Object.getOwnPropertyNames(meta));
      for (const k of Object.getOwnPropertyNames(meta)) expect(Object.getOwnPropertyDescriptor(back, k)!.value).toBe(meta[k]);
      expect(tn.loadSafetensorsWithMetadata(tn.serializeSafetensors({}, {})).metadata).toEqual({});
    });
  });

  test('saving a tensor named __metadata__ is refused, and nothing is written', () => {
    const p = path.join(dir, 'reserved.safetensors');
    tn.tidy(() => {
      expectThrows(() => tn.saveSafetensors(p, { __metadata__: tn.zeros([1]) }), 'RangeError', /cannot be named '__metadata__': the safetensors format reserves that key/);
      expectThrows(() => tn.serializeSafetensors({ __metadata__: tn.zeros([1]) }), 'RangeError', /reserves that key/);
    });
    expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('reserved'))).toEqual([]);
  });

  test('names and metadata that UTF-8 cannot store (lone surrogates) are refused', () => {
    tn.tidy(() => {
      expectThrows(() => tn.serializeSafetensors({ ['a\ud800']: tn.zeros([1]) }), 'RangeError', /lone UTF-16 surrogate/);
      expectThrows(() => tn.serializeSafetensors({ a: tn.zeros([1]) }, { k: 'x\udc00' }), 'RangeError', /lone UTF-16 surrogate/);
    });
  });

  test('non-ASCII names keep the data section 8-byte aligned, so the file maps without copies', () => {
    tn.tidy(() => {
      const buf = tn.serializeSafetensors({ 'poids é': tn.zeros([3]) }, { note: '✓✓✓' });
      const n = Number(buf.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      expect(buf.length).toBe(8 + n + 12);
    });
  });

  test('bad options are refused', () => {
    const p = path.join(dir, 'opts.safetensors');
    tn.tidy(() => tn.saveSafetensors(p, { w: tn.zeros([1]) }));
    expectThrows(() => tn.loadSafetensors(p, { copy: 'yes' as unknown as boolean }), 'TypeError', /options.copy: expected a boolean/);
    expectThrows(() => tn.loadSafetensors(p, 5 as unknown as { copy: boolean }), 'TypeError', /options: expected an object/);
  });
});

describe('tensors of a mapped file survive saves over that file', () => {
  const SCRIPT = `
const fs = require('node:fs');
const file = process.argv[2];
tn.saveSafetensors(file, { w: tn.arange(1 << 20).float(), b: tn.ones([16]) });
const { w, b } = tn.loadSafetensors(file, process.argv[3] === 'copy' ? { copy: true } : undefined);
const before = [w.sum().item(), w.index(12345).item(), b.sum().item()];
tn.saveSafetensors(file, { w: tn.zeros([10]) });                        // smaller: would truncate the mapping
const afterSmaller = [w.sum().item(), w.index(12345).item(), b.sum().item()];
tn.saveSafetensors(file, { w: tn.full([1 << 20], 3), b: tn.zeros([16]) }); // same size, other values
const afterSame = [w.sum().item(), w.index(12345).item(), b.sum().item()];
const again = tn.loadSafetensors(file);
process.stdout.write(JSON.stringify({ before, afterSmaller, afterSame, fresh: again.w.index(0).item(), files: fs.readdirSync(require('node:path').dirname(file)).length }));
`;
  test.each([['mapped (the default)'], ['copy']])('%s: values unchanged, the process exits 0', (mode) => {
    const sub = fs.mkdtempSync(path.join(dir, 'remap-'));
    const r = child(SCRIPT, [path.join(sub, 'w.safetensors'), mode === 'copy' ? 'copy' : 'map']);
    expect({ status: r.status, signal: r.signal, stderr: r.stderr.slice(-500) }).toEqual({ status: 0, signal: null, stderr: '' });
    const got = JSON.parse(r.stdout);
    const expected = [((1 << 20) * ((1 << 20) - 1)) / 2, 12345, 16];
    expect(got.before).toEqual(expected);
    expect(got.afterSmaller).toEqual(expected);
    expect(got.afterSame).toEqual(expected);
    expect(got.fresh).toBe(3); // the path holds the new file
    expect(got.files).toBe(1); // no temporary file left behind
  });

  test('with copy: true, even an in-place rewrite by another program leaves the tensors intact', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'inplace-'));
    const r = child(
      `
const fs = require('node:fs');
const file = process.argv[2];
tn.saveSafetensors(file, { w: tn.arange(1 << 18).float() });
const { w } = tn.loadSafetensors(file, { copy: true });
fs.writeFileSync(file, Buffer.alloc(10)); // truncates the inode in place, as many programs do
fs.truncateSync(file, 0);
process.stdout.write(String(w.sum().item()));
`,
      [path.join(sub, 'w.safetensors')],
    );
    expect([r.status, r.signal]).toEqual([0, null]);
    expect(Number(r.stdout)).toBe(((1 << 18) * ((1 << 18) - 1)) / 2);
  });
});
