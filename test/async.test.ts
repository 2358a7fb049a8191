/**
 * Async ops run on the addon's native worker: correct results, the event loop keeps
 * turning meanwhile, errors reject, and grad mode travels with the job.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { countTicks, expectClose, expectRejects, expectThrows } from './helpers';

const N = 1500;

describe('matmulAsync', () => {
  let a: Tensor;
  let b: Tensor;
  beforeAll(() => {
    tn.manualSeed(1);
    a = tn.randn([N, N], { dtype: 'float64' });
    b = tn.randn([N, N], { dtype: 'float64' }).div(Math.sqrt(N)); // keeps chained products O(1)
  });
  afterAll(() => tn.dispose([a, b]));

  test('chained 1500x1500 float64 products equal the synchronous ones, and the event loop keeps ticking', async () => {
    let interval = 0;
    const timer = setInterval(() => interval++, 1);
    const ticks = countTicks();
    const t0 = Date.now();
    const c1 = await a.matmulAsync(b);
    const c2 = await c1.matmulAsync(b);
    const c3 = await tn.matmulAsync(c2, b);
    const asyncMs = Date.now() - t0;
    const turns = ticks.stop();
    clearInterval(timer);
    try {
      // Each product takes tens of milliseconds at least; the loop turned all along.
      expect(asyncMs).toBeGreaterThan(20);
      expect(turns).toBeGreaterThan(50);
      expect(interval).toBeGreaterThan(5);
      expect(c3.shape).toEqual([N, N]);
      expect(c3.dtype).toBe('float64');
      tn.tidy(() => {
        const s = a.matmul(b).matmul(b).matmul(b);
        expectClose(c1, a.matmul(b), 1e-12, 1e-12);
        expectClose(c3, s, 1e-9, 1e-9);
        // Spot check against a value computed element by element in JS.
        const ra = a.index(7).toTypedArray() as Float64Array;
        const cb = b.index(':', 11).contiguous().toTypedArray() as Float64Array;
        let dot = 0;
        for (let k = 0; k < N; k++) dot += ra[k] * cb[k];
        expect(Math.abs((c1.index(7, 11).item() as number) - dot)).toBeLessThan(1e-10);
      });
    } finally {
      tn.dispose([c1, c2, c3]);
    }
  });

  test('synchronous matmul blocks the loop, async does not (same work)', async () => {
    // The contrast that makes the tick counts above meaningful.
    const ticks = countTicks();
    tn.tidy(() => {
      a.matmul(b);
    });
    await new Promise((r) => setImmediate(r));
    const syncTurns = ticks.stop();
    expect(syncTurns).toBeLessThanOrEqual(2);
  });

  test('several concurrent async ops all resolve correctly, in any order', async () => {
    const small = tn.randn([64, 64], { dtype: 'float64' });
    try {
      const ps = [1, 2, 3, 4, 5, 6].map((k) => tn.tidy(() => small.mul(k)));
      const results = await Promise.all(ps.map((p) => p.matmulAsync(small)));
      expect(tn.memory().pendingAsync).toBe(0);
      tn.tidy(() => {
        results.forEach((r, i) => expectClose(r, small.mul(i + 1).matmul(small), 1e-12, 1e-12));
      });
      tn.dispose([ps, results]);
    } finally {
      small.dispose();
    }
  });

  test('pendingAsync counts queued work', async () => {
    const p = a.matmulAsync(b);
    expect(tn.memory().pendingAsync).toBeGreaterThanOrEqual(1);
    const r = await p;
    expect(tn.memory().pendingAsync).toBe(0);
    r.dispose();
  });

  test('disposing an input while the op is in flight is safe', async () => {
    const x = a.clone();
    const base = tn.memory().liveTensors;
    const p = x.matmulAsync(b);
    x.dispose();
    const r = await p;
    tn.tidy(() => expectClose(r, a.matmul(b), 1e-12, 1e-12));
    r.dispose();
    // <=: across the await, the GC may also free tensors earlier files left to the finalizer.
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(base - 1);
  });

  test('bmmAsync works too', async () => {
    const x = tn.randn([3, 4, 5], { dtype: 'float64' });
    const y = tn.randn([3, 5, 2], { dtype: 'float64' });
    const r = await tn.bmmAsync(x, y);
    tn.tidy(() => expectClose(r, x.bmm(y), 1e-12, 1e-12));
    tn.dispose([x, y, r]);
  });
});

describe('async errors', () => {
  test('a shape error rejects with a JS Error (not a crash, not a sync throw)', async () => {
    const x = tn.ones([2, 3]);
    const y = tn.ones([2, 3]);
    let p: Promise<Tensor> | undefined;
    expect(() => {
      p = x.matmulAsync(y);
    }).not.toThrow();
    const e = await expectRejects(p!, 'Error', /2x3 and 2x3/);
    expect(e.message).not.toMatch(/Exception raised from/);
    await expectRejects(tn.bmmAsync(x, y), 'Error', /3D/);
    await expectRejects(x.matmulAsync(tn.ones([3, 2], { dtype: 'float64' })), 'Error', /Float|Double/);
    // The worker keeps serving after failures.
    const ok = await x.matmulAsync(tn.tidy(() => tn.keep(y.t())));
    expect(ok.toArray()).toEqual([[3, 3], [3, 3]]);
    tn.dispose([x, y, ok]);
  });

  test('argument errors throw synchronously, before anything is queued', () => {
    expectThrows(() => tn.matmulAsync('a' as unknown as Tensor, tn.ones([1])), 'TypeError');
    expect(tn.memory().pendingAsync).toBe(0);
  });

  test('backwardAsync of a non-scalar without gradient rejects', async () => {
    const x = tn.ones([3], { requiresGrad: true });
    const y = x.mul(2);
    await expectRejects(y.backwardAsync(), 'Error', /one element|gradient/);
    tn.dispose([x, y]);
  });
});

describe('backwardAsync', () => {
  test('gives the same gradients as backward', async () => {
    tn.manualSeed(2);
    const x = tn.randn([200, 300], { dtype: 'float64', requiresGrad: true });
    const w = tn.randn([300, 100], { dtype: 'float64', requiresGrad: true });
    const loss = x.matmul(w).tanh().pow(2).mean();
    const ticks = countTicks();
    await loss.backwardAsync(null, { retainGraph: true });
    ticks.stop();
    const gx = x.grad!;
    const gw = w.grad!;
    const gx1 = gx.clone();
    const gw1 = gw.clone();
    x.grad = null;
    w.grad = null;
    loss.backward();
    tn.tidy(() => {
      expectClose(x.grad!, gx1, 1e-14, 1e-12);
      expectClose(w.grad!, gw1, 1e-14, 1e-12);
      expect(gx1.abs().sum().item()).toBeGreaterThan(0);
    });
    tn.dispose([x, w, loss, gx, gw, gx1, gw1]);
  });

  test('with an explicit gradient', async () => {
    const x = tn.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x);
    const g = tn.tensor([1, 10, 100], { dtype: 'float64' });
    await y.backwardAsync(g);
    tn.tidy(() => expect(x.grad!.toArray()).toEqual([2, 40, 600]));
    tn.dispose([x, y, g]);
  });
});

describe('grad mode travels with async ops', () => {
  test('inside noGrad, an async matmul of requiresGrad inputs does not require grad', async () => {
    const x = tn.randn([8, 8], { requiresGrad: true });
    const y = tn.randn([8, 8], { requiresGrad: true });
    let p: Promise<Tensor> | undefined;
    tn.noGrad(() => {
      p = x.matmulAsync(y);
    });
    expect(tn.isGradEnabled()).toBe(true);
    const r = await p!;
    expect(r.requiresGrad).toBe(false);
    expect(r.gradFn).toBeNull();
    const r2 = await x.matmulAsync(y);
    expect(r2.requiresGrad).toBe(true);
    expect(r2.gradFn).toMatch(/^MmBackward/);
    // The async result is part of the graph.
    tn.tidy(() => {
      r2.sum().backward();
      expectClose(x.grad!, tn.noGrad(() => tn.ones([8, 8]).matmul(y.t())), 1e-5, 1e-5);
    });
    tn.dispose([x, y, r, r2]);
  });

  test('inside inferenceMode too; the mode ends with the function', async () => {
    const x = tn.randn([4, 4], { requiresGrad: true });
    let p: Promise<Tensor> | undefined;
    tn.inferenceMode(() => {
      expect(tn.isInferenceModeEnabled()).toBe(true);
      p = x.matmulAsync(x);
    });
    expect(tn.isInferenceModeEnabled()).toBe(false);
    const r = await p!;
    expect(r.requiresGrad).toBe(false);
    tn.dispose([x, r]);
  });

  test('noGrad refuses an async function', () => {
    const x = tn.ones([2, 2]);
    expectThrows(() => tn.noGrad((() => x.matmulAsync(x)) as unknown as () => void), 'TypeError', /Promise/);
    expect(tn.isGradEnabled()).toBe(true);
    x.dispose();
  });
});
