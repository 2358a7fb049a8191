/**
 * The package in worker_threads: it loads and computes in two workers at once while the main
 * thread computes too; workers exit and can be terminated without harming the process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as tn from '../lib';
import { expectClose } from './helpers';

const SCRIPT = path.join(__dirname, 'worker.js');
const BUILT = ['lib/index.js', 'index.js'].some((p) => fs.existsSync(path.join(__dirname, '..', 'dist', p)));

interface ComputeResult {
  c: Float64Array;
  grad: Float64Array;
  sum: number;
  asyncSum: number;
  live: number;
  threadId: number;
  version: string;
  failed?: string;
}

function run<T>(workerData: Record<string, unknown>): { worker: Worker; result: Promise<T>; exit: Promise<number> } {
  const worker = new Worker(SCRIPT, { workerData });
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T & { failed?: string }) => (m.failed ? reject(new Error(m.failed)) : resolve(m)));
    worker.once('error', reject);
  });
  const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, result, exit };
}

/** The same computation as worker.js 'compute', on this thread. */
function reference(seed: number, n: number) {
  return tn.tidy(() => {
    const a = tn.arange(n * n, undefined, 1, { dtype: 'float64' }).reshape(n, n).mul(0.001 * seed).sin();
    const b = tn.arange(n * n, undefined, 1, { dtype: 'float64' }).reshape(n, n).mul(0.002).cos();
    const c = a.matmul(b).tanh();
    const w = b.clone().requiresGrad_();
    a.matmul(w).pow(2).mean().backward();
    return { c, grad: w.grad!, sum: c.sum().item() as number, asyncSum: a.matmul(b).sum().item() as number };
  });
}

beforeAll(() => {
  if (!BUILT) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.build.json` (npm test does it)');
});

test('two workers and the main thread compute at once, with correct results', async () => {
  const n = 120;
  const w1 = run<ComputeResult>({ mode: 'compute', seed: 1, n });
  const w2 = run<ComputeResult>({ mode: 'compute', seed: 2, n });
  // The main thread works meanwhile.
  const mine = tn.tidy(() => {
    let acc = 0;
    for (let i = 0; i < 20; i++) acc += tn.tidy(() => tn.randn([100, 100]).matmul(tn.randn([100, 100])).shape[0]);
    return acc;
  });
  expect(mine).toBe(2000);
  const [r1, r2] = await Promise.all([w1.result, w2.result]);
  expect(r1.threadId).not.toBe(r2.threadId);
  expect(r1.version).toBe(tn.config().torchVersion);
  for (const [seed, r] of [[1, r1], [2, r2]] as const) {
    const ref = reference(seed, n);
    // new Float64Array(...): the message's arrays belong to the main realm, not to jest's vm
    // context, and tn.tensor identifies TypedArrays with instanceof (see dtypes.test.ts).
    expectClose(tn.tensor(new Float64Array(r.c), { shape: [n, n] }), ref.c, 1e-12, 1e-12, { what: `worker ${seed} forward` });
    expectClose(tn.tensor(new Float64Array(r.grad), { shape: [n, n] }), ref.grad, 1e-12, 1e-10, { what: `worker ${seed} grad` });
    expect(r.sum).toBeCloseTo(ref.sum, 8);
    expect(r.asyncSum).toBeCloseTo(ref.asyncSum, 6);
    tn.dispose([ref.c, ref.grad]);
  }
  // Different seeds, different results: the workers did not share state by mistake.
  expect(r1.sum).not.toBeCloseTo(r2.sum, 3);
  // Each worker has its own tensor table.
  expect(r1.live).toBeLessThan(10);
  expect(await w1.exit).toBe(0);
  expect(await w2.exit).toBe(0);
});

test('errors in a worker are Errors there', async () => {
  const w = run<{ name: string; message: string; isError: boolean }>({ mode: 'error' });
  const r = await w.result;
  expect(r.isError).toBe(true);
  expect(r.message).toMatch(/2x3 and 2x3/);
  expect(await w.exit).toBe(0);
});

test('terminating a worker in the middle of async work leaves the process healthy', async () => {
  const w = run<{ started: boolean }>({ mode: 'busy', iterations: 1_000_000 });
  await w.result;
  await new Promise((r) => setTimeout(r, 150));
  await w.worker.terminate();
  expect(await w.exit).toBe(1);
  // The main thread and a new worker still work.
  expect(tn.tidy(() => tn.ones([3, 3]).matmul(tn.ones([3, 3])).sum().item())).toBe(27);
  const again = run<ComputeResult>({ mode: 'compute', seed: 3, n: 16 });
  expect((await again.result).c.length).toBe(256);
  expect(await again.exit).toBe(0);
});

test('terminating workers at any point of their async work never aborts the process', async () => {
  // Regression: a promise settled while a worker's environment was being torn down threw a
  // C++ exception out of the thread-safe-function callback (std::terminate, SIGABRT).
  for (let i = 0; i < 20; i++) {
    const w = run<{ started: boolean }>({ mode: 'busy', iterations: 1_000_000 });
    await w.result;
    await new Promise((r) => setTimeout(r, 10 + (i % 7) * 12));
    await w.worker.terminate();
    expect(await w.exit).toBe(1);
  }
  expect(tn.tidy(() => tn.ones([2, 2]).sum().item())).toBe(4);
});
