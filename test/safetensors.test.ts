/**
 * safetensors: save/load round trips, files written by Python, corrupted files, and
 * copy-on-write of memory-mapped tensors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath, flat } from './helpers';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-safetensors-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One tensor of every dtype, with values that exercise its range. */
function everyDtype(): Record<string, Tensor> {
  return {
    f64: tn.tensor([[1 / 3, -1e300], [5e-324, 0]], { dtype: 'float64' }),
    f32: tn.tensor([1.5, -2.25, 3e38], { dtype: 'float32' }),
    f16: tn.tensor([0.5, -1.099609375, 65504], { dtype: 'float16' }),
    bf16: tn.tensor([1, -2, 3.5, 1e30], { dtype: 'bfloat16' }),
    i64: tn.tensor(new BigInt64Array([-(2n ** 62n), 0n, 2n ** 62n + 1n])),
    i32: tn.tensor([-(2 ** 31), 2 ** 31 - 1], { dtype: 'int32' }),
    i16: tn.tensor([-32768, 32767], { dtype: 'int16' }),
    i8: tn.tensor([-128, 127], { dtype: 'int8' }),
    u8: tn.tensor([0, 255], { dtype: 'uint8' }),
    bool: tn.tensor([[true, false], [false, true]]),
    scalar: tn.tensor(2.5, { dtype: 'float32' }),
    empty: tn.zeros([0, 3]),
    'name with spaces/and.dots': tn.arange(6).reshape(2, 3),
  };
}

function expectSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [k, e] of Object.entries(expected)) {
    const a = actual[k];
    expect([k, a.dtype, a.shape]).toEqual([k, e.dtype, e.shape]);
    if (e.dtype === 'int64') expect(Array.from(a.toTypedArray() as BigInt64Array)).toEqual(Array.from(e.toTypedArray() as BigInt64Array));
    else expectClose(a, e, 0, 0, { what: k });
  }
}

describe('round trip', () => {
  test('save → load (path, memory-mapped) keeps every dtype, shape, value and the metadata', () => {
    tn.tidy(() => {
      const t = everyDtype();
      const file = path.join(dir, 'all.safetensors');
      const meta = { format: 'pt', note: 'ünïcödé ✓', empty: '' };
      tn.saveSafetensors(file, t, meta);
      const { tensors, metadata } = tn.loadSafetensorsWithMetadata(file);
      expect(metadata).toEqual(meta);
      expectSameTensors(tensors, t);
    });
  });

  test('serialize → load from a Buffer gives the same', () => {
    tn.tidy(() => {
      const t = everyDtype();
      const buf = tn.serializeSafetensors(t, { a: 'b' });
      const { tensors, metadata } = tn.loadSafetensorsWithMetadata(buf);
      expect(metadata).toEqual({ a: 'b' });
      expectSameTensors(tensors, t);
      // From a Uint8Array that is a window into a larger buffer, too.
      const padded = new Uint8Array(buf.length + 16);
      padded.set(buf, 7);
      expectSameTensors(tn.loadSafetensors(padded.subarray(7, 7 + buf.length)), t);
    });
  });

  test('the written bytes follow the format: 8-byte LE length, JSON header padded to 8, packed data', () => {
    tn.tidy(() => {
      const buf = tn.serializeSafetensors({ a: tn.tensor([1, 2], { dtype: 'float32' }), b: tn.tensor([true]) });
      const n = Number(buf.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
      expect(header.a).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
      expect(header.b).toEqual({ dtype: 'BOOL', shape: [1], data_offsets: [8, 9] });
      expect(header.__metadata__).toBeUndefined();
      expect(buf.length).toBe(8 + n + 9);
      expect(buf.readFloatLE(8 + n)).toBe(1);
      expect(buf.readFloatLE(8 + n + 4)).toBe(2);
      expect(buf[8 + n + 8]).toBe(1);
    });
  });

  test('non-contiguous tensors are saved in logical order', () => {
    tn.tidy(() => {
      const m = tn.arange(6).float().reshape(2, 3).t();
      const back = tn.loadSafetensors(tn.serializeSafetensors({ m }));
      expect(back.m.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    });
  });

  test('path and Buffer loading agree on the fixture files', () => {
    tn.tidy(() => {
      for (const name of ['dtypes', 'python_safetensors']) {
        const file = fixturePath(name);
        expectSameTensors(tn.loadSafetensors(fs.readFileSync(file)), tn.loadSafetensors(file));
      }
    });
  });

  test('bad arguments throw', () => {
    expectThrows(() => tn.saveSafetensors(path.join(dir, 'x.safetensors'), { a: 5 as unknown as Tensor }), 'TypeError');
    expectThrows(() => tn.serializeSafetensors({ a: tn.zeros([1]) }, { k: 5 as unknown as string }), 'TypeError');
    expectThrows(() => tn.loadSafetensors(42 as unknown as string), 'TypeError');
    expectThrows(() => tn.loadSafetensors(path.join(dir, 'does-not-exist.safetensors')), 'Error', /ENOENT|no such file/);
    const d = tn.zeros([2]);
    d.dispose();
    expectThrows(() => tn.serializeSafetensors({ d }), 'Error', /disposed/);
  });
});

describe('files written by Python', () => {
  test('the minimal-writer fixture holds the expected values', () => {
    tn.tidy(() => {
      const { tensors: t, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('dtypes'));
      expect(metadata).toEqual({ format: 'pt', note: 'all dtypes, minimal writer' });
      const base = [[0, 1.5, -2.25], [3, -0.5, 100]];
      for (const d of ['float64', 'float32', 'float16', 'bfloat16'] as const) {
        expect(t[d].dtype).toBe(d);
        expect(t[d].toArray()).toEqual(base);
      }
      expect(Array.from(t.int64.toTypedArray() as BigInt64Array)).toEqual([0n, 1n, -2n, 3n, -(2n ** 40n), 2n ** 40n]);
      expect(t.int32.toArray()).toEqual([[0, 1, -2], [3, -(2 ** 31), 2 ** 31 - 1]]);
      expect(t.int16.toArray()).toEqual([[0, 1, -2], [3, -32768, 32767]]);
      expect(t.int8.toArray()).toEqual([[0, 1, -2], [3, -128, 127]]);
      expect(t.uint8.toArray()).toEqual([[0, 1, 2], [3, 128, 255]]);
      expect(t.bool.toArray()).toEqual([[true, false, true], [false, false, true]]);
      expect(t.scalar.shape).toEqual([]);
      expect(t.scalar.item()).toBe(2.5);
      expect(t.empty.shape).toEqual([0, 3]);
    });
  });

  test('a file written by the safetensors package loads with the expected values', () => {
    tn.tidy(() => {
      const { tensors: t, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('python_safetensors'));
      expect(metadata.producer).toMatch(/^safetensors \d+\.\d+/);
      expect(t.f64.dtype).toBe('float64');
      expect(t.f64.toArray()).toEqual([[0, 0.25, 0.5], [0.75, 1, 1.25]]);
      expect(t.f32.toArray()).toEqual([[-2.5, -1.5], [-0.5, 0.5], [1.5, 2.5]]);
      expect(t.f16.dtype).toBe('float16');
      expect(t.f16.toArray()).toEqual([0.5, -1, 65504]);
      if (t.bf16) {
        expect(t.bf16.dtype).toBe('bfloat16');
        expect(t.bf16.toArray()).toEqual([1, -2, 3.5, 9999220736]);
      }
      expect(Array.from(t.i64.toTypedArray() as BigInt64Array)).toEqual([-(2n ** 53n), 0n, 2n ** 53n]);
      expect(t.i32.toArray()).toEqual([[-3, -2, -1], [0, 1, 2]]);
      expect(t.i16.toArray()).toEqual([-32768, 32767]);
      expect(t.i8.toArray()).toEqual([-128, 0, 127]);
      expect(t.u8.toArray()).toEqual([0, 128, 255]);
      expect(t.bool.toArray()).toEqual([true, false, false, true]);
      const expected = tn.loadSafetensors(fixturePath('python_safetensors_expected'));
      expectClose(t.matrix, expected.matrix, 0, 0);
      // Usable in computations like any tensor.
      expect(t.f64.sum().item()).toBe(3.75);
    });
  });
});

describe('corrupted files throw a clear Error', () => {
  const good = (): Buffer => tn.tidy(() => tn.serializeSafetensors({ a: tn.arange(10).float(), b: tn.ones([3, 3], { dtype: 'float64' }) }));
  const header = (json: string, data = Buffer.alloc(0)): Buffer => {
    const h = Buffer.from(json);
    const p = Buffer.alloc(8);
    p.writeBigUInt64LE(BigInt(h.length));
    return Buffer.concat([p, h, data]);
  };
  const bad: [string, () => Buffer, RegExp][] = [
    ['empty file', () => Buffer.alloc(0), /shorter than 8 bytes/],
    ['only 5 bytes', () => Buffer.from([1, 2, 3, 4, 5]), /shorter than 8 bytes/],
    ['truncated data', () => good().subarray(0, good().length - 10), /outside the file|data_offsets/],
    ['truncated header', () => good().subarray(0, 20), /header length .* exceeds/],
    ['header length beyond the file', () => { const b = Buffer.from(good()); b.writeBigUInt64LE(1n << 40n, 0); return b; }, /exceeds the file/],
    ['header length 2^64-1', () => { const b = Buffer.from(good()); b.writeBigUInt64LE(0xffffffffffffffffn, 0); return b; }, /exceeds the file/],
    ['bad header JSON', () => header('{"a": {"dtype": "F32", '), /not JSON/],
    ['header not an object', () => header('[1, 2, 3]'), /not a JSON object/],
    ['offsets outside the file', () => header('{"a":{"dtype":"F32","shape":[4],"data_offsets":[1000,1016]}}', Buffer.alloc(16)), /outside the file/],
    ['offsets not matching the shape', () => header('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}', Buffer.alloc(16)), /do not match/],
    ['reversed offsets', () => header('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', Buffer.alloc(16)), /do not match|invalid/],
    ['negative offsets', () => header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', Buffer.alloc(16)), /invalid data_offsets/],
    ['unknown dtype', () => header('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', Buffer.alloc(8)), /dtype/],
    ['bad shape', () => header('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', Buffer.alloc(8)), /invalid shape/],
    ['huge shape', () => header('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', Buffer.alloc(8)), /do not match|invalid/],
    ['entry not an object', () => header('{"a":5}'), /dtype/],
  ];

  test.each(bad)('%s (Buffer and file)', (name, make, message) => {
    const bytes = make();
    expectThrows(() => tn.loadSafetensors(bytes), 'Error', message);
    const file = path.join(dir, `bad-${name.replace(/\W+/g, '_')}.safetensors`);
    fs.writeFileSync(file, bytes);
    const e = expectThrows(() => tn.loadSafetensors(file), 'Error', message);
    expect(e.message).toContain(file);
    expect(e.message).not.toMatch(/Exception raised from|\.cpp/);
  });

  test('nothing leaks from failed loads', () => {
    const before = tn.memory().liveTensors;
    for (const [, make] of bad) {
      try {
        tn.loadSafetensors(make());
      } catch {
        // expected
      }
    }
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(before); // <=: the addon's sweeps may also free garbage earlier tests left
  });
});

describe('memory-mapped tensors are copy-on-write', () => {
  test('modifying a loaded tensor in place does not change the file', () => {
    const file = path.join(dir, 'cow.safetensors');
    tn.tidy(() => tn.saveSafetensors(file, { w: tn.arange(12).float().reshape(3, 4), i: tn.arange(4) }));
    const before = fs.readFileSync(file);
    tn.tidy(() => {
      const t = tn.loadSafetensors(file);
      t.w.fill_(-1);
      t.w.add_(0.5);
      t.i.mul_(100);
      const view = t.w.toTypedArray() as Float32Array; // shares the (now private) pages
      view[0] = 123;
      expect(flat(t.w).slice(0, 3)).toEqual([123, -0.5, -0.5]);
      expect(t.i.toArray()).toEqual([0, 100, 200, 300]);
    });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    tn.tidy(() => {
      const again = tn.loadSafetensors(file);
      expect(flat(again.w)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(again.i.toArray()).toEqual([0, 1, 2, 3]);
    });
  });

  test('two loads of one file are independent', () => {
    const file = path.join(dir, 'twice.safetensors');
    tn.tidy(() => tn.saveSafetensors(file, { w: tn.zeros([4]) }));
    tn.tidy(() => {
      const a = tn.loadSafetensors(file);
      const b = tn.loadSafetensors(file);
      a.w.fill_(7);
      expect(b.w.toArray()).toEqual([0, 0, 0, 0]);
    });
  });

  test('loaded tensors stay valid after the file is deleted or overwritten', () => {
    const file = path.join(dir, 'gone.safetensors');
    tn.tidy(() => tn.saveSafetensors(file, { w: tn.arange(1000).float() }));
    tn.tidy(() => {
      const t = tn.loadSafetensors(file);
      fs.unlinkSync(file);
      expect(t.w.sum().item()).toBe(499500);
      const g = t.w.clone().requiresGrad_();
      g.mul(g).sum().backward();
      expect(g.grad!.index(999).item()).toBe(1998);
    });
  });
});
