/**
 * Property test: random calls of the public API with random, mostly wrong, arguments. Every
 * call either returns or throws an Error (never a non-Error, never a crash of the process);
 * async calls resolve or reject with an Error.
 */
import * as fc from 'fast-check';

import * as tn from '../lib';
import type { Tensor } from '../lib';
import { isError } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

const F = tn.nn.functional;

// Reproducible by default; FUZZ_SEED / FUZZ_RUNS / FUZZ_MS explore further, e.g.
// FUZZ_SEED=$RANDOM FUZZ_RUNS=20000 FUZZ_MS=600000 npx jest test/fuzz.test.ts --testTimeout 700000
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261122;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 500;
const TIME_LIMIT_MS = process.env.FUZZ_MS ? Number(process.env.FUZZ_MS) : 25_000;

// Sizes are either small or "huge": beyond what any allocation can get (>= 2^47 elements
// exceed the 47-bit address space, so they fail even where the kernel overcommits memory)
// or beyond the 2^48 elements the API accepts. Nothing in between (a 2^31-element arange,
// a 1e-9 arange step): an allocation that succeeds would only exhaust the machine.
const HUGE = [2 ** 47, 2 ** 48, 2 ** 50, 2 ** 53, Number.MAX_SAFE_INTEGER, 2 ** 64, -(2 ** 47)];
const num = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom(0.5, -1.5, NaN, Infinity, -Infinity, -0, 1e-300, ...HUGE) },
  { weight: 1, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }).filter((d) => d === 0 || Math.abs(d) >= 1e-3) },
);
const smallShape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
const shape = fc.oneof({ weight: 3, arbitrary: smallShape }, { weight: 1, arbitrary: fc.array(num, { maxLength: 3 }) });
const dtype = fc.constantFrom<unknown>(...tn.DTYPES, 'float8', 'Float32', '', 'cpu', 'cuda', undefined, 7);
/** A reference to a tensor of the run's pool (resolved when the call runs). */
const ref = fc.record({ ref: fc.nat(100) });
const leaf = fc.oneof(
  { weight: 6, arbitrary: ref },
  { weight: 6, arbitrary: fc.integer({ min: -1, max: 2 }) },
  { weight: 4, arbitrary: fc.constant(undefined) }, // an omitted optional argument
  { weight: 2, arbitrary: num },
  { weight: 3, arbitrary: shape },
  { weight: 1, arbitrary: dtype },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, true, false, '...', ':', '1:3', '::2', '-1:', 'a:b', '1:2:0', {}, [], [[1, 2], [3]], () => 1, Symbol('s'), 5n, new Date(0)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.record({ dtype, requiresGrad: fc.constantFrom<unknown>(true, false, 1, undefined), shape: fc.option(shape) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ start: fc.option(num), end: fc.option(num), step: fc.option(num) }, { requiredKeys: [] }) },
);
const arg = fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) });

interface Pool {
  tensors: Tensor[];
}
function resolve(pool: Pool, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => resolve(pool, x));
  if (v !== null && typeof v === 'object' && 'ref' in (v as object) && Object.keys(v as object).length === 1) {
    return pool.tensors[(v as { ref: number }).ref % pool.tensors.length];
  }
  return v;
}

/** A shape argument with dimensions beyond 8 made 3 (views that allocate nothing). */
const small = (v: unknown): Any => (Array.isArray(v) ? v.map((d: unknown) => (typeof d === 'number' && Math.abs(d) > 8 ? 3 : d)) : v);

/** Calls on a tensor of the pool (`self`) or on the module, with random arguments. */
const OPS: [string, (self: Tensor, a: Any[]) => unknown][] = [
  ['tensor', (_s, a) => tn.tensor(a[0], a[1])],
  ['zeros', (_s, a) => tn.zeros(a[0], a[1])],
  ['ones', (_s, a) => tn.ones(a[0], a[1])],
  ['full', (_s, a) => tn.full(a[0], a[1], a[2])],
  ['randn', (_s, a) => tn.randn(a[0], a[1])],
  ['arange', (_s, a) => tn.arange(a[0], a[1], a[2], a[3])],
  ['linspace', (_s, a) => tn.linspace(a[0], a[1], a[2])],
  ['eye', (_s, a) => tn.eye(a[0], a[1])],
  ['randint', (_s, a) => tn.randint(a[0], a[1], a[2])],
  ['zerosLike', (_s, a) => tn.zerosLike(a[0], a[1])],
  ['reshape', (s, a) => s.reshape(a[0])],
  ['reshape...', (s, a) => (s.reshape as Any)(...a)],
  ['view', (s, a) => s.view(a[0])],
  ['add', (s, a) => s.add(a[0], a[1])],
  ['sub', (s, a) => tn.sub(a[0], s)],
  ['mul', (s, a) => s.mul(a[0])],
  ['div', (s, a) => s.div(a[0])],
  ['pow', (s, a) => s.pow(a[0])],
  ['maximum', (s, a) => s.maximum(a[0])],
  ['eq', (s, a) => s.eq(a[0])],
  ['add_', (s, a) => s.add_(a[0], a[1])],
  ['mul_', (s, a) => s.mul_(a[0])],
  ['fill_', (s, a) => s.fill_(a[0])],
  ['clamp', (s, a) => s.clamp(a[0], a[1])],
  ['exp', (s) => s.exp()],
  ['log', (s) => tn.log(s)],
  ['relu', (s) => s.relu()],
  ['gelu', (s, a) => s.gelu(a[0])],
  ['matmul', (s, a) => s.matmul(a[0])],
  ['matmul fn', (_s, a) => tn.matmul(a[0], a[1])],
  ['bmm', (s, a) => s.bmm(a[0])],
  ['sum', (s, a) => s.sum(a[0], a[1], a[2])],
  ['mean', (s, a) => s.mean(a[0], a[1])],
  ['max', (s, a) => s.max(a[0], a[1])],
  ['argmax', (s, a) => s.argmax(a[0], a[1])],
  ['var', (s, a) => s.var(a[0], a[1])],
  ['norm', (s, a) => s.norm(a[0], a[1], a[2])],
  ['logsumexp', (s, a) => s.logsumexp(a[0], a[1])],
  ['softmax', (s, a) => s.softmax(a[0], a[1])],
  ['logSoftmax', (s, a) => tn.logSoftmax(s, a[0])],
  ['index', (s, a) => s.index(...a)],
  ['indexPut_', (s, a) => s.indexPut_(a[0], a[1])],
  ['cat', (_s, a) => tn.cat(a[0], a[1])],
  ['stack', (_s, a) => tn.stack(a[0], a[1])],
  ['split', (s, a) => s.split(a[0], a[1])],
  ['chunk', (s, a) => s.chunk(a[0], a[1])],
  ['narrow', (s, a) => s.narrow(a[0], a[1], a[2])],
  ['transpose', (s, a) => s.transpose(a[0], a[1])],
  ['permute', (s, a) => s.permute(a[0])],
  ['unsqueeze', (s, a) => s.unsqueeze(a[0])],
  ['squeeze', (s, a) => s.squeeze(a[0])],
  ['flatten', (s, a) => s.flatten(a[0], a[1])],
  // expand creates views without allocating: only small shapes, or a reduction over a
  // huge view would run for hours instead of failing.
  ['expand', (s, a) => s.expand(small(a[0]))],
  ['gather', (s, a) => s.gather(a[0], a[1])],
  ['indexSelect', (s, a) => s.indexSelect(a[0], a[1])],
  ['maskedFill', (s, a) => s.maskedFill(a[0], a[1])],
  ['where', (s, a) => tn.where(a[0], s, a[1])],
  ['roll', (s, a) => s.roll(a[0], a[1])],
  ['pad', (s, a) => s.pad(a[0], a[1], a[2])],
  ['tril', (s, a) => s.tril(a[0])],
  ['topk', (s, a) => s.topk(a[0], a[1])],
  ['sort', (s, a) => s.sort(a[0], a[1])],
  ['to', (s, a) => s.to(a[0])],
  ['item', (s) => s.item()],
  ['toArray', (s) => s.toArray()],
  ['toTypedArray', (s, a) => s.toTypedArray(a[0])],
  ['toString', (s) => s.toString()],
  ['shape', (s) => s.shape],
  ['size', (s, a) => s.size(a[0])],
  ['clone', (s) => s.clone()],
  ['detach', (s) => s.detach()],
  ['requiresGrad_', (s, a) => s.requiresGrad_(a[0])],
  ['backward', (s, a) => s.backward(a[0], a[1])],
  ['grad', (s) => s.grad],
  ['linear', (s, a) => F.linear(s, a[0], a[1])],
  ['layerNorm', (s, a) => F.layerNorm(s, a[0], a[1], a[2], a[3])],
  ['embedding', (s, a) => F.embedding(s, a[0], a[1])],
  ['crossEntropy', (s, a) => F.crossEntropy(s, a[0], a[1])],
  ['mseLoss', (s, a) => F.mseLoss(s, a[0], a[1])],
  ['dropout', (s, a) => F.dropout(s, a[0], a[1])],
  ['autograd.grad', (s, a) => tn.autograd.grad(s, a[0], a[1])],
  ['serialize', (s, a) => tn.loadSafetensors(tn.serializeSafetensors({ s, x: a[0] }, a[1]))],
  ['dispose', (s) => s.dispose()],
  // Views of pool tensors join the pool, so in-place ops and async ops meet them too.
  ['narrow view', (s, a) => s.narrow(0, a[0], a[1])],
  ['asStrided', (s, a) => s.asStrided(small(a[0]), a[1], a[2])], // small sizes: see expand
  ['select', (s, a) => s.select(a[0], a[1])],
  ['slice', (s, a) => s.slice(a[0], a[1], a[2], a[3])],
  ['copy_', (s, a) => s.copy_(a[0])],
  ['zero_', (s) => s.zero_()],
  // Async ops are not awaited here: later calls of the run (in-place writes, dispose) meet
  // them while queued or running; the test awaits them all at the end.
  ['matmulAsync', (s, a) => later(s.matmulAsync(a[0]))],
  ['matmulAsync self', (s) => later(s.matmulAsync(s.transpose(-1, -2)))],
  ['backwardAsync', (s, a) => later(s.backwardAsync(a[0]))],
  ['sdpaAsync', (s, a) => later(F.scaledDotProductAttentionAsync(s, a[0], a[1] ?? s, a[2]))],
  ['sdpaAsync self', (s) => later(F.scaledDotProductAttentionAsync(s, s, s, {}))],
];
/** Async calls of the synchronous runs, settled at the end. */
const pending: Promise<unknown>[] = [];
function later(p: Promise<unknown>): void {
  if (pending.length < 5000) pending.push(p);
  // Later ones free their results as they settle (the test still awaits them all).
  else pending.push(p.then((r) => void tn.dispose(r), (e: unknown) => {
    if (!isError(e)) throw new Error(`non-Error rejection: ${String(e)}`);
  }));
}

const call = fc.record({ op: fc.nat(OPS.length - 1), self: fc.nat(100), args: fc.array(arg, { minLength: 1, maxLength: 4 }) });

/** A few valid tensors of several dtypes and shapes to start each run from. */
function seedPool(): Tensor[] {
  return [
    tn.randn([2, 3]),
    tn.randn([3, 3], { dtype: 'float64', requiresGrad: true }),
    tn.arange(6).reshape(2, 3),
    tn.tensor([true, false, true]),
    tn.ones([4], { dtype: 'int32' }),
    tn.tensor(1.5),
    tn.zeros([0, 3]),
    tn.randn([2, 2, 2], { dtype: 'float16' }),
    tn.tensor([0, 2, 1]),
    tn.randn([3], { requiresGrad: true }).mul(2),
    (() => {
      const d = tn.ones([2]);
      d.dispose();
      return d;
    })(),
    tn.randn([4, 6]).narrow(1, 1, 3),
    tn.randn([3, 2], { dtype: 'float64' }).transpose(0, 1),
    tn.ones([1, 3]).expand([4, 3]),
    tn.randn([1, 2, 4, 8]),
  ];
}

/** Collects the tensors in a result (tensors, arrays, { values, indices }, Records). */
function tensorsIn(r: unknown, out: Tensor[] = []): Tensor[] {
  if (r instanceof tn.Tensor) out.push(r);
  else if (Array.isArray(r)) r.forEach((x) => tensorsIn(x, out));
  else if (r !== null && typeof r === 'object' && Object.getPrototypeOf(r) === Object.prototype) Object.values(r).forEach((x) => tensorsIn(x, out));
  return out;
}

const stats = { calls: 0, returned: 0, threw: 0, kinds: new Map<string, number>() };

function runCall(pool: Pool, c: { op: number; self: number; args: unknown[] }): void {
  const [name, fn] = OPS[c.op];
  const self = pool.tensors[c.self % pool.tensors.length];
  const args = c.args.map((a) => resolve(pool, a));
  stats.calls++;
  let result: unknown;
  try {
    result = fn(self, args);
  } catch (e) {
    stats.threw++;
    if (!isError(e)) throw new Error(`${name}(${args.map(String).join(', ')}) threw a non-Error: ${String(e)}`);
    const kind = (e as Error).name;
    stats.kinds.set(kind, (stats.kinds.get(kind) ?? 0) + 1);
    if (kind !== 'Error' && kind !== 'TypeError' && kind !== 'RangeError') throw new Error(`${name} threw a ${kind}: ${(e as Error).message}`);
    return;
  }
  stats.returned++;
  for (const t of tensorsIn(result)) if (pool.tensors.length < 60) pool.tensors.push(t);
}

test('random calls return or throw an Error; the process survives', () => {
  const base = tn.memory().liveTensors;
  const started = Date.now();
  fc.assert(
    fc.property(fc.array(call, { minLength: 1, maxLength: 25 }), (calls) => {
      tn.tidy(() => {
        const pool: Pool = { tensors: seedPool() };
        for (const c of calls) runCall(pool, c);
      });
    }),
    { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
  );
  // A long exploration (FUZZ_RUNS) reports its figures (bench/RESULTS.md quotes them).
  if (process.env.FUZZ_RUNS) process.stdout.write(`fuzz: ${stats.calls} calls, ${stats.returned} returned, ${stats.threw} threw (${[...stats.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}), ${pending.length} async, ${Date.now() - started} ms\n`);
  // Everything made inside the runs was freed with them.
  expect(tn.memory().liveTensors).toBeLessThanOrEqual(base); // <=: the addon's sweeps may also free garbage earlier tests left
  expect(tn.isGradEnabled()).toBe(true);
  // The generator reaches both outcomes, and the three error classes.
  expect(stats.calls).toBeGreaterThan(1000);
  expect(stats.returned).toBeGreaterThan(100);
  expect(stats.threw).toBeGreaterThan(100);
  expect([...stats.kinds.keys()].sort()).toEqual(['Error', 'RangeError', 'TypeError']);
  expect(Date.now() - started).toBeLessThan(TIME_LIMIT_MS + 5_000);
  // The library still works.
  expect(tn.tidy(() => tn.ones([2, 2]).matmul(tn.ones([2, 2])).sum().item())).toBe(8);
});

test('the async calls of those runs resolve or reject with an Error', async () => {
  expect(pending.length).toBeGreaterThan(20);
  const settled = await Promise.allSettled(pending);
  for (const s of settled) {
    if (s.status === 'rejected') expect(isError(s.reason)).toBe(true);
    else tn.dispose(s.value);
  }
  expect(settled.some((s) => s.status === 'fulfilled')).toBe(true);
  expect(tn.memory().pendingAsync).toBe(0);
});

test('random async calls resolve or reject with an Error', async () => {
  const base = tn.memory().liveTensors;
  await fc.assert(
    fc.asyncProperty(fc.nat(100), fc.nat(100), fc.array(leaf, { maxLength: 2 }), fc.boolean(), async (i, j, extra, backward) => {
      const pool: Pool = { tensors: tn.tidy(seedPool) };
      const a = pool.tensors[i % pool.tensors.length];
      const b = pool.tensors[j % pool.tensors.length];
      let p: Promise<unknown> | undefined;
      try {
        p = backward ? a.backwardAsync(resolve(pool, extra[0]) as Tensor) : a.matmulAsync(b);
      } catch (e) {
        if (!isError(e)) throw new Error(`non-Error thrown: ${String(e)}`);
      }
      if (p) {
        try {
          tn.dispose(await p);
        } catch (e) {
          if (!isError(e)) throw new Error(`non-Error rejection: ${String(e)}`);
        }
      }
      tn.dispose(pool.tensors);
    }),
    { numRuns: 150, seed: 7 },
  );
  expect(tn.memory().pendingAsync).toBe(0);
  // <=: across awaits, the GC may also free tensors that earlier test files (same jest
  // worker, same addon) left to the finalizer.
  expect(tn.memory().liveTensors).toBeLessThanOrEqual(base);
});

/** Broadcasts two shapes as NumPy/PyTorch do (or returns null). */
function broadcastShapes(a: number[], b: number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Element of `data` (of `shape`) at the broadcast position `idx` of `outShape`. */
function at(data: ArrayLike<number>, shape: number[], outShape: number[], idx: number[]): number {
  let off = 0;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const i = shape[d] === 1 ? 0 : idx[outShape.length - shape.length + d];
    off += i * stride;
    stride *= shape[d];
  }
  return data[off];
}

test('broadcasting binary ops match a JS reference, on both the tiny path and libtorch', () => {
  const dims = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 });
  const ops: [string, (x: number, y: number) => number][] = [
    ['add', (x, y) => x + y],
    ['sub', (x, y) => x - y],
    ['mul', (x, y) => x * y],
    ['div', (x, y) => x / y],
    ['maximum', (x, y) => Math.max(x, y)],
  ];
  fc.assert(
    fc.property(dims, dims, fc.nat(ops.length - 1), fc.boolean(), fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), fc.integer({ min: 1, max: 1000 }),
      (sa, sb, k, transposed, dtype, seed) => {
        // Make b broadcastable to a by replacing mismatching dims with 1.
        const sb2 = sb.map((d, i) => (a => (a === undefined || a === d ? d : 1))(sa[sa.length - sb.length + i]));
        const out = broadcastShapes(sa, sb2)!;
        const [name, f] = ops[k];
        tn.tidy(() => {
          tn.manualSeed(seed);
          let a = tn.randn(sa, { dtype });
          const b = tn.rand(sb2, { dtype }).add(0.5);
          if (transposed && sa.length >= 2) a = a.transpose(0, 1).contiguous().transpose(0, 1); // same values, non-contiguous
          const r = (tn as Any)[name](a, b) as Tensor;
          expect(r.shape).toEqual(out);
          expect(r.dtype).toBe(dtype);
          const av = a.contiguous().toTypedArray() as Float64Array;
          const bv = b.toTypedArray() as Float64Array;
          const rv = r.toTypedArray() as Float64Array;
          const round = dtype === 'float32' ? Math.fround : (x: number) => x;
          const n = out.reduce((p, q) => p * q, 1);
          const idx = new Array<number>(out.length).fill(0);
          for (let i = 0; i < n; i++) {
            let rem = i;
            for (let d = out.length - 1; d >= 0; d--) {
              idx[d] = rem % out[d];
              rem = Math.floor(rem / out[d]);
            }
            const want = round(f(at(av, sa, out, idx), at(bv, sb2, out, idx)));
            if (rv[i] !== want) throw new Error(`${name} ${dtype} [${sa}] with [${sb2}] at ${i}: ${rv[i]} != ${want}`);
          }
        });
      }),
    { numRuns: 300, seed: 5 },
  );
});
