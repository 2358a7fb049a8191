/**
 * The caching CPU allocator (native/src/kernels/memory): large blocks are reused, the bound
 * holds, emptyCache gives blocks back, TN_CPU_CACHE_MB=0 keeps libtorch's allocator, and
 * tensors computed in reused blocks are right (checked against values computed in JS).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as tn from '../lib';
import { expectThrows } from './helpers';

const ENTRY = path.resolve(__dirname, '..', 'dist', 'lib', 'index.js');
const MiB = 2 ** 20;

/** Runs a script in a fresh process with the given environment; returns its JSON output. */
function child(script: string, env: Record<string, string>): unknown {
  const r = spawnSync(process.execPath, ['-e', `const tn = require(${JSON.stringify(ENTRY)}); ${script}`], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('caching CPU allocator', () => {
  const defaultLimit = tn.cpuCacheInfo().limitBytes;
  afterEach(() => {
    tn.setCpuCacheLimit(defaultLimit);
  });

  test('is on by default with a quarter of physical memory as its bound', () => {
    const info = tn.cpuCacheInfo();
    expect(info.enabled).toBe(true);
    const total = require('node:os').totalmem() as number;
    expect(info.limitBytes).toBeGreaterThan(total / 4 - 64 * MiB);
    expect(info.limitBytes).toBeLessThan(total / 4 + 64 * MiB);
  });

  test('a freed large block serves the next allocation of that size, and its new contents are right', () => {
    tn.emptyCache();
    const a = tn.ones([512, 1024]); // 2 MiB
    const before = tn.cpuCacheInfo();
    a.dispose();
    const freed = tn.cpuCacheInfo();
    expect(freed.cachedBytes - before.cachedBytes).toBe(2 * MiB);
    const b = tn.zeros([512, 1024]);
    const after = tn.cpuCacheInfo();
    expect(after.hits).toBe(before.hits + 1);
    expect(after.misses).toBe(before.misses);
    expect(after.cachedBytes).toBe(before.cachedBytes);
    expect(b.sum().item()).toBe(0); // zeros really zeroed the reused block
    const c = tn.arange(512 * 1024, undefined, 1, { dtype: 'float32' }).reshape(512, 1024).mul(2); // intermediate freed, result reuses blocks
    const v = c.toTypedArray() as Float32Array;
    for (const i of [0, 1, 777, 524287]) expect(v[i]).toBe(2 * i);
    tn.dispose([b, c]);
  });

  test('best fit: a block is reused for a request at most an eighth smaller, not for a much smaller one', () => {
    tn.emptyCache();
    tn.ones([4 * MiB / 4]).dispose(); // one 4 MiB block cached
    const s0 = tn.cpuCacheInfo();
    const near = tn.empty([(4 * MiB - 256 * 1024) / 4]); // 3.75 MiB: reuses it
    const s1 = tn.cpuCacheInfo();
    expect(s1.hits).toBe(s0.hits + 1);
    near.dispose();
    const small = tn.empty([MiB / 4]); // 1 MiB: would waste 3/4 of the block: fresh
    const s2 = tn.cpuCacheInfo();
    expect(s2.misses).toBe(s1.misses + 1);
    expect(s2.cachedBytes).toBe(4 * MiB);
    small.dispose();
  });

  test('emptyCache returns every cached byte and leaves live tensors intact', () => {
    const keep = tn.full([1024, 1024], 3);
    tn.tidy(() => {
      for (let i = 1; i <= 4; i++) tn.ones([i * 256, 1024]);
    });
    const cached = tn.cpuCacheInfo().cachedBytes;
    expect(cached).toBeGreaterThanOrEqual(10 * MiB);
    expect(tn.emptyCache()).toBe(cached);
    expect(tn.cpuCacheInfo().cachedBytes).toBe(0);
    expect(keep.mean().item()).toBe(3);
    keep.dispose();
  });

  test('the bound holds: past it freed blocks go back to the system; 0 stops caching', () => {
    tn.setCpuCacheLimit(3 * MiB);
    tn.tidy(() => {
      for (let i = 0; i < 5; i++) tn.ones([512, 1024]); // five 2 MiB blocks freed together
    });
    expect(tn.cpuCacheInfo().cachedBytes).toBe(2 * MiB);
    tn.setCpuCacheLimit(MiB); // shrinking releases at once
    expect(tn.cpuCacheInfo().cachedBytes).toBe(0);
    tn.setCpuCacheLimit(0);
    tn.ones([512, 1024]).dispose();
    expect(tn.cpuCacheInfo().cachedBytes).toBe(0);
  });

  test('a training-like loop reuses blocks and keeps the cache flat', () => {
    tn.emptyCache();
    const w = tn.randn([256, 256], { requiresGrad: true });
    const x = tn.randn([2048, 256]);
    const step = (): void =>
      tn.tidy(() => {
        x.matmul(w).relu().matmul(w).sum().backward();
        w.grad = null;
      });
    step();
    const s0 = tn.cpuCacheInfo();
    for (let i = 0; i < 20; i++) step();
    const s1 = tn.cpuCacheInfo();
    expect(s1.misses).toBe(s0.misses); // every large block of a step came from the cache
    expect(s1.hits - s0.hits).toBeGreaterThanOrEqual(20 * 4);
    expect(s1.cachedBytes).toBe(s0.cachedBytes);
    w.dispose();
    x.dispose();
  });

  test('several threads allocate and free at once (main thread and two workers)', async () => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      const tn = require(${JSON.stringify(ENTRY)});
      let total = 0;
      for (let i = 0; i < 60; i++) total += tn.tidy(() => tn.full([256 + (i % 7) * 64, 1024], i % 5).sum().item());
      parentPort.postMessage(total);`;
    const expected = Array.from({ length: 60 }, (_, i) => (256 + (i % 7) * 64) * 1024 * (i % 5)).reduce((s, v) => s + v, 0);
    const workers = [0, 1].map(() => new Worker(code, { eval: true }));
    const results = workers.map((w) => new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    let mine = 0;
    for (let i = 0; i < 60; i++) mine += tn.tidy(() => tn.full([256 + (i % 7) * 64, 1024], i % 5).sum().item() as number);
    expect(mine).toBe(expected);
    expect(await Promise.all(results)).toEqual([expected, expected]);
    await Promise.all(workers.map((w) => w.terminate()));
  });

  test('TN_CPU_CACHE_MB sets the bound; 0 keeps libtorch\'s own allocator', () => {
    const script = `const a = tn.ones([1024, 1024]); a.dispose(); const s = tn.cpuCacheInfo();
      console.log(JSON.stringify({ ...s, sum: tn.ones([1024, 1024]).sum().item() }));`;
    expect(child(script, { TN_CPU_CACHE_MB: '0' })).toEqual({ enabled: false, cachedBytes: 0, limitBytes: 0, liveBytes: 0, hits: 0, misses: 0, sum: 1048576 });
    const small = child(script, { TN_CPU_CACHE_MB: '16' }) as { enabled: boolean; limitBytes: number; cachedBytes: number };
    expect(small.enabled).toBe(true);
    expect(small.limitBytes).toBe(16 * MiB);
    expect(small.cachedBytes).toBe(4 * MiB);
  });

  test('bad limits are clear errors', () => {
    expectThrows(() => tn.setCpuCacheLimit(-1), 'RangeError', /setCpuCacheLimit: bytes: expected an integer >= 0, but got/);
    expectThrows(() => tn.setCpuCacheLimit(1.5), 'TypeError', /setCpuCacheLimit: bytes: expected an integer/);
    expectThrows(() => tn.setCpuCacheLimit('1' as never), 'TypeError', /setCpuCacheLimit: bytes: expected an integer/);
  });
});
