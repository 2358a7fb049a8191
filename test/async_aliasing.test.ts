/**
 * An async op sees its inputs as they were when it was called (PyTorch's rule for ops on a
 * stream): a synchronous in-place write to anything it reads, through any view and any
 * in-place path, waits until the op has run. Async ops among themselves run in call order.
 */
import * as fc from 'fast-check';

import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose } from './helpers';

// Large enough that each product runs for milliseconds, so the write lands while it runs.
const N = 400;

function inputs(): { a: Tensor; b: Tensor } {
  tn.manualSeed(3);
  return { a: tn.randn([N, N], { dtype: 'float64' }), b: tn.randn([N, N], { dtype: 'float64' }) };
}

/** Writes that must wait: each in-place path of the API, on the tensor or on a view of it. */
const WRITES: [string, (a: Tensor) => void][] = [
  ['fill_', (a) => a.fill_(2)],
  ['zero_', (a) => a.zero_()],
  ['add_ (fast path)', (a) => a.add_(1)],
  ['mul_ tensor', (a) => a.mul_(tn.tensor(3, { dtype: 'float64' }))],
  ['copy_', (a) => a.copy_(tn.onesLike(a))],
  ['view narrow().fill_', (a) => a.narrow(0, 10, 50).fill_(-7)],
  ['view transpose().add_', (a) => a.transpose(0, 1).add_(5)],
  ['indexPut_', (a) => a.indexPut_([tn.tensor([0, 5, 9])], tn.tensor(4, { dtype: 'float64' }))],
  ['clamp_', (a) => a.clamp_(-0.1, 0.1)],
  ['uniform_', (a) => a.uniform_()],
];

describe('in-place writes wait for the async ops that read what they write', () => {
  for (const [name, write] of WRITES) {
    test(`a.matmulAsync(b); ${name} on a; await: the product of the old a (10 rounds)`, async () => {
      for (let round = 0; round < 10; round++) {
        const { a, b } = inputs();
        const expected = a.matmul(b);
        const p = a.matmulAsync(b);
        write(a);
        const got = await p;
        expectClose(got, expected, 0, 0, { what: `${name}, round ${round}` });
        tn.dispose([a, b, expected, got]);
      }
    });
  }

  test('writing to the second operand, and to the output of an earlier async op, waits too', async () => {
    const { a, b } = inputs();
    const ab = a.matmul(b);
    const p1 = a.matmulAsync(b);
    b.narrow(1, 0, 3).fill_(0); // waits for p1
    const c = await p1;
    expectClose(c, ab, 0, 0);
    const ca = c.matmul(a);
    const p2 = c.matmulAsync(a);
    c.mul_(0);
    const d = await p2;
    expectClose(d, ca, 0, 0);
    tn.dispose([a, b, ab, c, ca, d]);
  });

  test('an optimiser step waits for an async op reading the parameters', async () => {
    const w = tn.randn([N, N], { dtype: 'float64', requiresGrad: true });
    const x = tn.randn([N, N], { dtype: 'float64' });
    const expected = tn.tidy(() => x.matmul(w.detach()));
    tn.tidy(() => x.matmul(w).sum().backward());
    const opt = new tn.optim.SGD([w], { lr: 0.5 });
    const wd = w.detach();
    const p = x.matmulAsync(wd);
    opt.step(); // writes w in place
    const got = await p;
    expectClose(got, expected, 0, 0);
    tn.dispose([w, wd, x, expected, got]);
  });

  test('async ops among themselves run in call order: an async step lands between two async products', async () => {
    const w = tn.randn([N, N], { dtype: 'float64', requiresGrad: true });
    const x = tn.randn([N, N], { dtype: 'float64' });
    const before = tn.tidy(() => x.matmul(w.detach()));
    tn.tidy(() => x.matmul(w).sum().backward());
    const opt = new tn.optim.SGD([w], { lr: 0.5 });
    const wd = w.detach();
    const p1 = x.matmulAsync(wd);
    const step = opt.stepAsync();
    const p2 = x.matmulAsync(wd);
    const [r1, , r2] = await Promise.all([p1, step, p2]);
    const after = x.matmul(wd);
    expectClose(r1, before, 0, 0);
    expectClose(r2, after, 0, 0);
    expect(tn.tidy(() => after.sub(before).abs().max().item())).toBeGreaterThan(1);
    tn.dispose([w, x, wd, before, after, r1, r2]);
  });

  test('random interleavings: every async product equals the synchronous product at call time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ async: fc.boolean(), target: fc.nat(2), write: fc.nat(WRITES.length - 1) }), { minLength: 2, maxLength: 8 }),
        async (steps) => {
          tn.manualSeed(5);
          const pool = [tn.randn([200, 200], { dtype: 'float64' }), tn.randn([200, 200], { dtype: 'float64' }), tn.randn([200, 200], { dtype: 'float64' })];
          const pending: [Promise<Tensor>, Tensor][] = [];
          for (const s of steps) {
            const x = pool[s.target];
            const y = pool[(s.target + 1) % 3];
            if (s.async) pending.push([x.matmulAsync(y), x.matmul(y)]);
            else WRITES[s.write][1](x.narrow(0, 0, 200));
          }
          for (const [p, expected] of pending) {
            const got = await p;
            expectClose(got, expected, 0, 0);
            tn.dispose([got, expected]);
          }
          tn.dispose(pool);
        },
      ),
      { numRuns: 40, seed: 11 },
    );
    expect(tn.memory().pendingAsync).toBe(0);
  });
});
