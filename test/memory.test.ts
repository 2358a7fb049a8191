/**
 * Deterministic freeing: tidy scopes, keep, dispose, `using`, and a long loop that must not
 * grow the process.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectThrows } from './helpers';

const live = (): number => tn.memory().liveTensors;

describe('tidy', () => {
  test('frees every tensor created inside except the returned one', () => {
    const base = live();
    const bytes = tn.memory().bytes;
    const out = tn.tidy(() => {
      const a = tn.ones([100, 100]);
      const b = a.mul(2).add(1).exp();
      const parts = b.split(10);
      expect(parts.length).toBe(10);
      expect(live()).toBe(base + 3 + 10 + 1);
      return b.sum();
    });
    expect(live()).toBe(base + 1);
    expect(Math.abs((out.item() as number) / (10000 * Math.exp(3)) - 1)).toBeLessThan(1e-6);
    out.dispose();
    expect(live()).toBe(base);
    expect(tn.memory().bytes).toBe(bytes);
  });

  test('returned tensors in arrays, objects and Maps survive', () => {
    const base = live();
    const r = tn.tidy(() => {
      const x = tn.arange(4);
      const y = x.add(1);
      tn.ones([10]); // a temporary
      return { list: [x, 5, 'text'], nested: { y }, map: new Map([['z', y.mul(2)]]) };
    });
    expect(live()).toBe(base + 3);
    expect(r.list[0] as Tensor).toBeInstanceOf(tn.Tensor);
    expect((r.list[0] as Tensor).toArray()).toEqual([0, 1, 2, 3]);
    expect(r.nested.y.toArray()).toEqual([1, 2, 3, 4]);
    expect(r.map.get('z')!.toArray()).toEqual([2, 4, 6, 8]);
    tn.dispose(r);
    expect(live()).toBe(base);
  });

  test('nested scopes: the inner result moves to the outer scope', () => {
    const base = live();
    let innerResult: Tensor | undefined;
    const outer = tn.tidy(() => {
      const a = tn.ones([3]);
      innerResult = tn.tidy(() => {
        tn.zeros([5]);
        return a.mul(3);
      });
      expect(live()).toBe(base + 2);
      expect(innerResult.isDisposed).toBe(false);
      return innerResult.add(a);
    });
    // The inner result was not returned by the outer scope: freed with it.
    expect(innerResult!.isDisposed).toBe(true);
    expect(outer.toArray()).toEqual([4, 4, 4]);
    expect(live()).toBe(base + 1);
    outer.dispose();
    expect(live()).toBe(base);
  });

  test('returning a tensor made outside the scope does not hand it to the enclosing scope', () => {
    // Regression: an inner tidy returning a pre-existing tensor (e.g. `tidy(() => p === 0 ? x : f(x))`)
    // used to move it into the outer scope, which then disposed the caller's tensor.
    const w = tn.ones([2]);
    let fromOuter: Tensor | undefined;
    tn.tidy(() => {
      const outerOwned = tn.zeros([3]);
      tn.tidy(() => w);
      tn.tidy(() => tn.tidy(() => [w]));
      fromOuter = tn.tidy(() => tn.tidy(() => outerOwned));
      expect(outerOwned.isDisposed).toBe(false);
    });
    expect(w.isDisposed).toBe(false);
    expect(w.toArray()).toEqual([1, 1]);
    // The outer scope's own tensor is still freed by that scope.
    expect(fromOuter!.isDisposed).toBe(true);
    w.dispose();
  });

  test('keep() exempts a tensor from every enclosing scope', () => {
    const base = live();
    let kept: Tensor | undefined;
    tn.tidy(() => {
      tn.tidy(() => {
        kept = tn.keep(tn.arange(3).float());
        tn.ones([2]);
      });
      expect(kept!.isDisposed).toBe(false);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(kept!.toArray()).toEqual([0, 1, 2]);
    expect(live()).toBe(base + 1);
    kept!.dispose();
    expect(live()).toBe(base);
  });

  test('a throwing scope frees its tensors and rethrows', () => {
    const base = live();
    expect(() =>
      tn.tidy(() => {
        tn.ones([10]).mul(2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live()).toBe(base);
    // Errors from the addon inside a scope, too.
    expectThrows(() => tn.tidy(() => tn.ones([2, 3]).matmul(tn.ones([2, 3]))), 'Error', /2x3/);
    expect(live()).toBe(base);
  });

  test('a scope that returns a Promise is refused, and frees its tensors', () => {
    const base = live();
    expectThrows(() => tn.tidy((async () => tn.ones([2])) as unknown as () => Tensor), 'TypeError', /synchronous/);
    expect(live()).toBe(base);
  });

  test('the tensors made by .grad reads and backward inside a scope are freed', () => {
    const x = tn.ones([4], { requiresGrad: true });
    const base = live();
    tn.tidy(() => {
      x.mul(x).sum().backward();
      expect(x.grad!.toArray()).toEqual([2, 2, 2, 2]);
      expect(x.grad!.toArray()).toEqual([2, 2, 2, 2]);
    });
    // The accumulated gradient lives in x, not as a handle.
    expect(live()).toBe(base);
    x.dispose();
  });
});

describe('dispose', () => {
  test('dispose twice is safe, and tn.dispose walks structures', () => {
    const base = live();
    const t = tn.ones([3]);
    t.dispose();
    t.dispose();
    tn.dispose([tn.ones([1]), { a: tn.ones([2]), b: [tn.ones([3])] }, 7, null]);
    expect(live()).toBe(base);
  });

  test('disposing a tensor inside a scope, before the scope ends, is fine', () => {
    const base = live();
    tn.tidy(() => {
      const t = tn.ones([3]);
      t.dispose();
      return t; // already disposed: nothing to move
    });
    expect(live()).toBe(base);
  });

  test('`using` frees at the end of the block (Symbol.dispose)', () => {
    const base = live();
    let escaped: Tensor;
    {
      using t = tn.ones([3]);
      escaped = t;
      expect(live()).toBe(base + 1);
      expect(t.isDisposed).toBe(false);
    }
    expect(escaped.isDisposed).toBe(true);
    expect(live()).toBe(base);
    const u = tn.zeros([2]);
    u[Symbol.dispose]();
    expect(u.isDisposed).toBe(true);
    expect(live()).toBe(base);
  });

  test('views keep their storage alive; bytes count distinct storages once', () => {
    const base = tn.memory();
    const a = tn.zeros([1000], { dtype: 'float64' });
    const v1 = a.reshape(10, 100);
    const v2 = a.narrow(0, 0, 10);
    expect(tn.memory().bytes - base.bytes).toBe(8000);
    a.dispose();
    v1.dispose();
    expect(tn.memory().bytes - base.bytes).toBe(8000);
    v2.dispose();
    expect(tn.memory().bytes).toBe(base.bytes);
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(base.liveTensors); // <=: the addon's sweeps may also free garbage earlier tests left
  });
});

describe('garbage collection is a safety net', () => {
  test('unreferenced tensors outside any scope are freed after GC', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const base = live();
    (() => {
      for (let i = 0; i < 200; i++) tn.ones([10]);
    })();
    expect(live()).toBeGreaterThanOrEqual(base + 200);
    // The addon sweeps collected handles from an idle timer (every 200 ms).
    for (let i = 0; i < 40 && live() > base; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(live()).toBeLessThanOrEqual(base);
  });
});

describe('a long loop keeps memory flat', () => {
  test('1e6 iterations of tidy(() => a.add(b).mul(c)) do not grow RSS or the tensor table', () => {
    const a = tn.rand([4, 4]);
    const b = tn.rand([4, 4]);
    const c = tn.rand([4, 4]);
    const base = live();
    const step = (): void => {
      tn.tidy(() => {
        a.add(b).mul(c);
      });
    };
    const N = 1_000_000;
    const WARM = 100_000;
    for (let i = 0; i < WARM; i++) step();
    expect(live()).toBe(base);
    const rssWarm = process.memoryUsage().rss;
    const t0 = Date.now();
    for (let i = WARM; i < N; i++) step();
    const seconds = (Date.now() - t0) / 1000;
    const growth = process.memoryUsage().rss - rssWarm;
    expect(live()).toBe(base);
    // (Under npm run test:asan the sanitizer's allocator quarantine holds freed memory.)
    if (!process.env.TN_SANITIZED) expect(growth).toBeLessThan(30 * 1024 * 1024);
    // And the scope returns: the result moves out and is freed by hand.
    const r = tn.tidy(() => a.add(b).mul(c));
    expect(live()).toBe(base + 1);
    r.dispose();
    expect(live()).toBe(base);
    tn.dispose([a, b, c]);
    // Informational (visible with --verbose): per-iteration cost.
    console.log(`tidy loop: ${((seconds * 1e6) / (N - WARM)).toFixed(2)} us/iteration, RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
  });
});
