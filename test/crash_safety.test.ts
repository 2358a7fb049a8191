/**
 * Crash safety: what used to abort, hang, wrap silently or grow without bound. Whatever can
 * take the process down runs in a child process, so a crash fails the test instead of jest.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tn from '../lib';
import { expectThrows } from './helpers';


/** Runs `node args` and returns its exit status, signal and output. */
function child(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 240_000): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout, env: { ...process.env, ...env } });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('worker termination', () => {
  // Before the fix: "terminate called after throwing an instance of 'Napi::Error'" (SIGABRT)
  // in the first few rounds: a method that threw while its environment was terminating.
  test('terminating 150 workers at random moments of sync, async and file work never aborts the process', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-terminate-'));
    try {
      const rounds = Number(process.env.TN_TERMINATIONS ?? 150);
      const r = child([path.join(__dirname, 'crash', 'terminate_workers.js'), String(rounds), '20261206', dir]);
      expect({ signal: r.signal, status: r.status, stderr: r.stderr.slice(-2000) }).toEqual({ signal: null, status: 0, stderr: '' });
      expect(JSON.parse(r.stdout.trim())).toEqual({ terminated: rounds, sum: 27 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bounded work from small arguments', () => {
  test('chunk and split refuse to make millions of tensors (they OOM-killed the process)', () => {
    const z = tn.zeros([0, 3]);
    expectThrows(() => z.chunk(2 ** 31), 'RangeError', /chunk: this would make 2147483648 tensors; at most 1048576/);
    expect(z.chunk(3).map((t) => t.shape)).toEqual([[0, 3], [0, 3], [0, 3]]); // as torch.chunk
    const wide = tn.zeros([2 ** 40, 0]);
    expectThrows(() => wide.split(1), 'RangeError', /split: this would make 1099511627776 tensors/);
    expect(wide.split(2 ** 39).length).toBe(2);
    expect(tn.arange(10).chunk(100).length).toBe(10);
    tn.dispose([z, wide]);
  });

  test('a zero-element shape whose strides do not fit is refused, not given negative strides', () => {
    expectThrows(() => tn.zeros([0, 2 ** 30, 2 ** 30, 2 ** 30]), 'RangeError', /strides must be exact/);
    const ok = tn.zeros([0, 2 ** 20, 2 ** 20]);
    expect(ok.stride()).toEqual([2 ** 40, 2 ** 20, 1]);
    ok.dispose();
  });
});

describe('values an integer dtype cannot hold are errors (as torch.tensor)', () => {
  test.each([
    ['int64', 2 ** 70], ['int64', 2 ** 63], ['int64', -(2 ** 64)], ['int32', 2 ** 31], ['int32', NaN], ['int32', Infinity],
    ['int16', 40000], ['int8', -129], ['uint8', 256], ['uint8', -1], ['int64', NaN],
  ] as const)('tn.tensor([%s]) of %s', (dtype, v) => {
    expectThrows(() => tn.tensor([1, v], { dtype }), 'RangeError', new RegExp(`values that fit in ${dtype}`));
  });

  test('the extremes that do fit are kept exactly', () => {
    expect(tn.tensor([-(2 ** 31), 2 ** 31 - 1], { dtype: 'int32' }).toArray()).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(tn.tensor([0, 255], { dtype: 'uint8' }).toArray()).toEqual([0, 255]);
    expect(tn.tensor([2.9, -2.9], { dtype: 'int32' }).toArray()).toEqual([2, -2]); // truncates, as torch
    expect(tn.tensor([NaN, 2 ** 70]).toArray()).toEqual([NaN, 2 ** 70]); // float32: no range check
  });

  test('messages name dtypes, not C++ types', () => {
    const e = expectThrows(() => tn.full([1], 1e40, { dtype: 'bfloat16' }));
    expect(e.message).toBe('value cannot be converted to type bfloat16 without overflow');
    expect(expectThrows(() => tn.ones([2], { dtype: 'int8' }).fill_(1000)).message).toBe('value cannot be converted to type int8 without overflow');
    expect(expectThrows(() => tn.ones([2], { dtype: 'float16' }).fill_(1e10)).message).toBe('value cannot be converted to type float16 without overflow');
  });
});

describe('memory of tensors left to the garbage collector', () => {
  // One million small ops in a synchronous loop, outside tidy: before, every tensor lived
  // until the event loop turned (2M live tensors, +1.3 GB) and RSS stayed high after.
  interface LoopFigures { rssPeakMB: number; grownMB: number; maxLive: number; liveAfter: number }
  const loop = (mode: 'tidy' | 'gc'): LoopFigures => {
    const r = child(['--expose-gc', path.join(__dirname, 'crash', 'memory_loop.js'), mode]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    return JSON.parse(r.stdout) as LoopFigures;
  };

  test('1M ops outside tidy in a synchronous loop: peak RSS within 2x the same loop in tidy, the table freed as it goes', () => {
    const a = loop('tidy');
    const b = loop('gc');
    expect(a.maxLive).toBeLessThan(10);
    // Swept after each full collection (every ~100k tensors charged 640 bytes each).
    expect(b.maxLive).toBeLessThan(250_000);
    expect(b.liveAfter).toBeLessThan(10);
    if (process.env.TN_SANITIZED) return; // npm run test:asan: the sanitizer's quarantine holds freed memory
    expect(b.rssPeakMB).toBeLessThan(2 * a.rssPeakMB);
    expect(b.grownMB).toBeLessThan(200);
  });
});
