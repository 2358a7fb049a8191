/**
 * Attention: tn.nn.functional.scaledDotProductAttention against a float64 PyTorch math
 * reference (test/reference/make_attention_fixtures.py), MultiheadAttention against
 * torch.nn.MultiheadAttention, the Module base class, Linear and KVCache.
 *
 * Fixture inputs are formulas of (shape, seed), evaluated here with the same libtorch ops
 * as in the Python script; the fixture files hold the expected outputs and gradients.
 */
import * as tn from '../lib';
import type { DType, Tensor } from '../lib';
import { native, opId } from '../lib/binding';
import { countTicks, expectClose, expectRejects, expectThrows, fixturePath, flat } from './helpers';

const F = tn.nn.functional;
const sdpa = F.scaledDotProductAttention;

// ---- fixture inputs (mirrors gen / gen_mask of make_attention_fixtures.py) -----------------

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** sin(i·a + i²·b + c)·amp over the flat index, float64. */
function gen(shape: number[], seed: number, amp = 1): Tensor {
  return tn.tidy(() => {
    const i = tn.arange(0, numel(shape), 1, { dtype: 'float64' });
    return i
      .mul(0.7 + 0.1 * seed)
      .add(i.mul(i).mul(1e-3 * (1 + (seed % 3))))
      .add(0.37 * seed)
      .sin()
      .mul(amp)
      .reshape(shape);
  });
}

/** Boolean, about 4 in 5 true. */
function genMask(shape: number[], seed: number): Tensor {
  return tn.tidy(() => tn.arange(0, numel(shape), 1, { dtype: 'int64' }).mul(7).add(seed * 3).remainder(5).ne(0).reshape(shape));
}

interface MaskSpec {
  kind: 'bool' | 'float' | 'float-inf' | 'rows';
  shape: number[];
}
interface Spec {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Lq: number;
  Lk: number;
  d: number;
  dv: number;
  seed: number;
  grad: boolean;
  amp?: number;
  layout?: 'blhd' | 'bhdl';
  mask?: MaskSpec;
  maskGrad?: boolean;
  lengths?: number[];
  alibi?: number[] | number[][];
  scale?: number;
  causal?: boolean;
  align?: 'bottom-right' | 'top-left';
  window?: [number, number];
  softcap?: number;
  gqa?: boolean;
  f32?: boolean;
  rows?: number[];
  gradRows?: number[];
}

const { tensors: FIX, metadata: META } = tn.loadSafetensorsWithMetadata(fixturePath('attention'));
const SPECS: Spec[] = JSON.parse(META!.cases);

interface Inputs {
  /** Leaves (what gradients are read from) and the (B, H, L, d) views given to attention. */
  leaves: { q: Tensor; k: Tensor; v: Tensor };
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask: Tensor | null;
  opts: tn.nn.functional.ScaledDotProductAttentionOptions;
  /** Leaf grad → (B, H, L, d) layout. */
  layoutGrad: (g: Tensor) => Tensor;
}

/** The inputs and options of a case, in `dtype`; leaves require grad when `grad`. */
function makeInputs(c: Spec, dtype: DType, grad: boolean): Inputs {
  const amp = c.amp ?? 1.5;
  const mk = (shape: number[], seed: number, a: number): Tensor => {
    const [b, h, l, d] = shape;
    const base = c.layout === 'blhd' ? gen([b, l, h, d], seed, a) : c.layout === 'bhdl' ? gen([b, h, d, l], seed, a) : gen(shape, seed, a);
    const t = base.to(dtype);
    base.dispose();
    if (grad) t.requiresGrad_(true);
    return t;
  };
  const view = (t: Tensor): Tensor => (c.layout === 'blhd' ? t.transpose(1, 2) : c.layout === 'bhdl' ? t.transpose(2, 3) : t);
  const leaves = {
    q: mk([c.B, c.Hq, c.Lq, c.d], c.seed, amp),
    k: mk([c.B, c.Hkv, c.Lk, c.d], c.seed + 1, 1),
    v: mk([c.B, c.Hkv, c.Lk, c.dv], c.seed + 2, 1),
  };
  let mask: Tensor | null = null;
  if (c.mask) {
    const s = c.mask.shape;
    if (c.mask.kind === 'bool') mask = genMask(s, c.seed);
    else if (c.mask.kind === 'float') mask = gen(s, c.seed + 5, 2).to(dtype);
    else if (c.mask.kind === 'float-inf') mask = tn.tidy(() => tn.where(genMask(s, c.seed), gen(s, c.seed + 5, 2), -Infinity).to(dtype));
    else {
      mask = tn.tidy(() => {
        const rows = tn.tensor([true, false, true, false, true]).view(1, 1, 5, 1);
        const m = genMask(s, c.seed).logicalAnd(rows);
        m.indexPut_(['...', 0, 0], true);
        return m;
      });
    }
    if (grad && c.maskGrad) mask.requiresGrad_(true);
  }
  const opts: tn.nn.functional.ScaledDotProductAttentionOptions = {
    attnMask: mask,
    isCausal: c.causal ?? false,
    causalAlign: c.align ?? 'bottom-right',
    enableGqa: c.gqa ?? false,
  };
  if (c.scale !== undefined) opts.scale = c.scale;
  if (c.window) opts.slidingWindow = c.window;
  if (c.softcap !== undefined) opts.softcap = c.softcap;
  if (c.lengths) opts.keyPaddingLengths = c.lengths;
  if (c.alibi) opts.alibiSlopes = Array.isArray(c.alibi[0]) ? tn.tensor(c.alibi as number[][], { dtype: 'float64' }) : (c.alibi as number[]);
  return {
    leaves,
    q: view(leaves.q),
    k: view(leaves.k),
    v: view(leaves.v),
    mask,
    opts,
    layoutGrad: (g) => view(g),
  };
}

const fix = (key: string): Tensor => {
  const t = FIX[key];
  if (!t) throw new Error(`fixture attention: no tensor '${key}'`);
  return t;
};

/** Rows `rows` of dim 2, as float64. */
const pickRows = (t: Tensor, rows: number[]): Tensor => t.indexSelect(2, tn.tensor(rows, { dtype: 'int64' })).to('float64');
/** Σ x · gen(x.shape, 99), float64. */
const checksum = (t: Tensor): number => t.to('float64').mul(gen(t.shape, 99)).sum().item() as number;

function expectChecksum(actual: number, expected: number, atol: number, what: string): void {
  if (!(Math.abs(actual - expected) <= atol + 1e-7 * Math.abs(expected))) {
    throw new Error(`${what}: checksum ${actual} differs from the expected ${expected} by ${Math.abs(actual - expected)} (atol ${atol})`);
  }
}

/**
 * Runs a case in `dtype` and compares with the fixture: output, lse and, with `grad`, the
 * gradients of sum(out · gout). Tolerances: [atol, rtol] for values, atol for checksums.
 */
function checkCase(c: Spec, dtype: DType, grad: boolean, tol: [number, number], sumTol: number): void {
  tn.tidy(() => {
    const inp = makeInputs(c, dtype, grad);
    const { output: out, lse } = sdpa(inp.q, inp.k, inp.v, { ...inp.opts, returnLse: true });
    expect(out.dtype).toBe(dtype);
    expect(out.shape).toEqual([c.B, c.Hq, c.Lq, c.dv]);
    expect(lse.dtype).toBe('float32');
    const [atol, rtol] = tol;
    const close = (a: Tensor, e: Tensor, what: string, k = 1): void =>
      expectClose(a.to('float64'), e.to('float64'), atol * k, rtol * k, { what: `${c.name} (${dtype}) ${what}` });
    if (c.rows) {
      close(pickRows(out, c.rows), fix(`${c.name}.rows.out`), 'output rows');
      expectChecksum(checksum(out), fix(`${c.name}.sum.out`).item() as number, sumTol, `${c.name} (${dtype}) output`);
    } else {
      close(out, fix(`${c.name}.out`), 'output');
    }
    close(lse, fix(`${c.name}.lse`), 'lse', dtype === 'float64' ? 1e4 : 1);
    if (!grad) return;
    out.backward(gen(out.shape, c.seed + 3).to(dtype));
    const grads: [string, Tensor][] = [
      ['q', inp.layoutGrad(inp.leaves.q.grad!)],
      ['k', inp.layoutGrad(inp.leaves.k.grad!)],
      ['v', inp.layoutGrad(inp.leaves.v.grad!)],
    ];
    if (c.maskGrad) grads.push(['mask', inp.mask!.grad!]);
    for (const [name, g] of grads) {
      if (c.gradRows) {
        const rows = c.gradRows.filter((r) => r < g.shape[2]);
        close(pickRows(g, rows), fix(`${c.name}.rows.grad.${name}`), `d${name} rows`, 10);
        expectChecksum(checksum(g), fix(`${c.name}.sum.grad.${name}`).item() as number, sumTol * 10, `${c.name} (${dtype}) d${name}`);
      } else {
        close(g, fix(`${c.name}.grad.${name}`), `d${name}`, 10);
      }
    }
  });
}

const featureCases = SPECS.filter((c) => !c.f32 && !c.name.startsWith('big_'));
const sweepCases = SPECS.filter((c) => c.f32);
const bigCases = SPECS.filter((c) => c.name.startsWith('big_'));

describe('scaledDotProductAttention against the float64 PyTorch reference', () => {
  test('the fixture has every kind of case', () => {
    expect(featureCases.length).toBeGreaterThan(30);
    expect(sweepCases.map((c) => c.name)).toContain('f32_L37_d128');
    expect(bigCases.length).toBe(4);
  });

  test.each(featureCases.map((c) => [c.name, c] as const))('%s: float64 output, lse and gradients', (_name, c) => {
    checkCase(c, 'float64', c.grad, [1e-10, 1e-8], 1e-8);
  });

  test.each(featureCases.map((c) => [c.name, c] as const))('%s: float32 output and gradients', (_name, c) => {
    checkCase(c, 'float32', c.grad, [1e-5, 1e-4], 1e-3);
  });

  test.each(sweepCases.map((c) => [c.name, c] as const))('%s (L, d not multiples of the blocks)', (_name, c) => {
    // stored as float32: float64 results agree to the storage rounding
    checkCase(c, 'float64', c.grad, [1e-6, 1e-6], 1e-8);
    checkCase(c, 'float32', c.grad, [2e-5, 1e-4], 1e-3);
  });

  test.each(bigCases.map((c) => [c.name, c] as const))('%s (L = 1000)', (_name, c) => {
    checkCase(c, 'float32', c.grad, [2e-5, 1e-4], 2e-2);
  });

  test('big_grad in float64', () => {
    checkCase(bigCases.find((c) => c.name === 'big_grad')!, 'float64', true, [1e-10, 1e-8], 1e-7);
  });

  test.each(['plain', 'causal_br_short_q', 'gqa', 'window_both', 'alibi', 'float_mask_full', 'noncontig_bhld', 'f32_L37_d64'])(
    '%s: bfloat16 within 2e-2',
    (name) => {
      const c = SPECS.find((s) => s.name === name)!;
      checkCase(c, 'bfloat16', false, [2e-2, 2e-2], 1);
    },
  );
});

// ---- behaviour ------------------------------------------------------------------------------

describe('scaledDotProductAttention behaviour', () => {
  test('rows with no visible key give zeros, lse -Infinity and zero (finite) gradients', () => {
    tn.tidy(() => {
      const q = tn.randn([1, 2, 4, 8], { requiresGrad: true });
      const k = tn.randn([1, 2, 6, 8], { requiresGrad: true });
      const v = tn.randn([1, 2, 6, 8], { requiresGrad: true });
      const none = tn.zeros([4, 6], { dtype: 'bool' });
      for (const opts of [
        { attnMask: none },
        { attnMask: tn.full([4, 6], -Infinity) },
        { keyPaddingLengths: [0] },
        { slidingWindow: [0, 0] as [number, number], causalAlign: 'top-left' as const, attnMask: tn.eye(4, 6).logicalNot() },
      ]) {
        const { output, lse } = sdpa(q, k, v, { ...opts, returnLse: true });
        expect(flat(output).every((x) => x === 0)).toBe(true);
        expect(flat(lse).every((x) => x === -Infinity)).toBe(true);
        output.mul(tn.randn(output.shape)).sum().backward();
        for (const t of [q, k, v]) {
          expect(flat(t.grad!).every((x) => x === 0)).toBe(true);
          t.grad = null;
        }
      }
    });
  });

  test('bottom-right vs top-left alignment and the default', () => {
    tn.tidy(() => {
      const q = tn.randn([1, 1, 3, 8]);
      const k = tn.randn([1, 1, 5, 8]);
      const v = tn.randn([1, 1, 5, 8]);
      const w = (align?: 'bottom-right' | 'top-left'): Tensor => sdpa(q, k, v, { isCausal: true, causalAlign: align, needWeights: true }).weights;
      // bottom-right: query i sees keys 0 .. i + 2; top-left: keys 0 .. i
      expect((w().gt(0).sum(-1).toArray() as number[][][])[0][0]).toEqual([3, 4, 5]);
      expect((w('bottom-right').gt(0).sum(-1).toArray() as number[][][])[0][0]).toEqual([3, 4, 5]);
      expect((w('top-left').gt(0).sum(-1).toArray() as number[][][])[0][0]).toEqual([1, 2, 3]);
    });
  });

  test('needWeights: pre-dropout weights that sum to 1 and reproduce the output; with returnLse too', () => {
    tn.tidy(() => {
      const q = tn.randn([2, 3, 5, 8], { dtype: 'float64' });
      const k = tn.randn([2, 3, 7, 8], { dtype: 'float64' });
      const v = tn.randn([2, 3, 7, 4], { dtype: 'float64' });
      const r = sdpa(q, k, v, { isCausal: true, needWeights: true, returnLse: true, alibiSlopes: [0.1, 0.2, 0.3] });
      expect(r.weights.shape).toEqual([2, 3, 5, 7]);
      expectClose(r.weights.sum(-1), tn.ones([2, 3, 5], { dtype: 'float64' }), 1e-12, 0);
      expectClose(r.weights.matmul(v), r.output, 1e-12, 1e-10);
      const o = sdpa(q, k, v, { isCausal: true, alibiSlopes: [0.1, 0.2, 0.3], needWeights: true });
      expect(Object.keys(o).sort()).toEqual(['output', 'weights']);
    });
  });

  test('an int64 Tensor or an array for keyPaddingLengths, a Tensor or an array for alibiSlopes', () => {
    tn.tidy(() => {
      const q = tn.randn([2, 2, 3, 8]);
      const k = tn.randn([2, 2, 6, 8]);
      const v = tn.randn([2, 2, 6, 8]);
      const before = tn.memory().liveTensors;
      const a = sdpa(q, k, v, { keyPaddingLengths: [6, 2], alibiSlopes: [0.5, 0.25] });
      expect(tn.memory().liveTensors).toBe(before + 1); // the temporaries made from arrays are freed
      const b = sdpa(q, k, v, { keyPaddingLengths: tn.tensor([6, 2], { dtype: 'int64' }), alibiSlopes: tn.tensor([0.5, 0.25]) });
      expectClose(a, b, 1e-6, 1e-5);
      const m = sdpa(q, k, v, { attnMask: tn.tensor([[true, true, true, true, true, true], [true, true, false, false, false, false]]).view(2, 1, 1, 6), alibiSlopes: [0.5, 0.25] });
      expectClose(a, m, 1e-6, 1e-5);
    });
  });

  test('a float mask gets its gradient, summed over broadcast dims', () => {
    tn.tidy(() => {
      const q = tn.randn([2, 2, 4, 8], { dtype: 'float64' });
      const k = tn.randn([2, 2, 5, 8], { dtype: 'float64' });
      const v = tn.randn([2, 2, 5, 8], { dtype: 'float64' });
      const m = tn.randn([4, 5], { dtype: 'float64', requiresGrad: true });
      sdpa(q, k, v, { attnMask: m }).sum().backward();
      const full = m.detach().expand(2, 2, 4, 5).clone().requiresGrad_(true);
      sdpa(q, k, v, { attnMask: full }).sum().backward();
      expectClose(m.grad!, full.grad!.sum([0, 1]), 1e-12, 1e-10);
    });
  });

  test.each([1, 2])('mask gradients summed inside the kernel over every broadcast pattern, several tiles, %i thread(s)', (threads) => {
    const before = tn.getNumThreads();
    tn.setNumThreads(threads);
    try {
      tn.tidy(() => {
        // 3 batches, 4 query heads over 2 kv heads, 70 queries (two row tiles), 300 keys (two key tiles).
        const [B, H, Hkv, Lq, Lk, d] = [3, 4, 2, 70, 300, 16];
        const q = tn.randn([B, H, Lq, d], { dtype: 'float64' });
        const k = tn.randn([B, Hkv, Lk, d], { dtype: 'float64' });
        const v = tn.randn([B, Hkv, Lk, d], { dtype: 'float64' });
        const gout = tn.randn([B, H, Lq, d], { dtype: 'float64' });
        for (const shape of [[1, H, Lq, Lk], [B, 1, Lq, Lk], [1, 1, Lq, Lk], [1, 1, 1, Lk], [B, H, 1, Lk], [Lq, Lk]]) {
          const m = tn.randn(shape, { dtype: 'float64' }).requiresGrad_();
          sdpa(q, k, v, { attnMask: m, enableGqa: true, isCausal: true }).mul(gout).sum().backward();
          const full = m.detach().expand(B, H, Lq, Lk).clone().requiresGrad_();
          sdpa(q, k, v, { attnMask: full, enableGqa: true, isCausal: true }).mul(gout).sum().backward();
          const dims = [0, 1, 2, 3].filter((i) => (shape.length === 4 ? shape[i] === 1 : i < 2));
          const want = full.grad!.sum(dims, true).reshape(shape);
          expect(want.abs().max().item()).toBeGreaterThan(0.01);
          expectClose(m.grad!, want, 1e-12, 1e-10, { what: `mask ${shape.join('x')}` });
        }
      });
    } finally {
      tn.setNumThreads(before);
    }
  });

  test('L = 1 queries and keys', () => {
    tn.tidy(() => {
      const q = tn.randn([1, 2, 1, 16]);
      const k = tn.randn([1, 2, 1, 16]);
      const v = tn.randn([1, 2, 1, 16]);
      expectClose(sdpa(q, k, v, { isCausal: true }), v, 1e-7, 1e-6);
    });
  });

  test('the async form gives the sync results and keeps the event loop free', async () => {
    const q = tn.randn([1, 4, 300, 64]);
    const k = tn.randn([1, 4, 300, 64]);
    const v = tn.randn([1, 4, 300, 64]);
    try {
      const sync = sdpa(q, k, v, { isCausal: true, returnLse: true, needWeights: true });
      const ticks = countTicks();
      // One call is ~6 ms: a loaded CI machine can deschedule the JS thread for that long, so
      // the loop must turn across several calls.
      for (let i = 0; i < 4; i++) {
        const r = await F.scaledDotProductAttentionAsync(q, k, v, { isCausal: true });
        r.dispose();
      }
      const asyncR = await F.scaledDotProductAttentionAsync(q, k, v, { isCausal: true, returnLse: true, needWeights: true });
      expect(ticks.stop()).toBeGreaterThan(0);
      expectClose(asyncR.output, sync.output, 0, 0);
      expectClose(asyncR.lse, sync.lse, 0, 0);
      expectClose(asyncR.weights, sync.weights, 0, 0);
      const plain = await F.scaledDotProductAttentionAsync(q, k, v, { keyPaddingLengths: [100] });
      expect(plain.shape).toEqual([1, 4, 300, 64]);
      await expectRejects(F.scaledDotProductAttentionAsync(q, k.narrow(3, 0, 32), v), 'Error', /head dim/);
      tn.dispose([sync, asyncR, plain]);
    } finally {
      tn.dispose([q, k, v]);
    }
  });
});

// ---- dropout --------------------------------------------------------------------------------

describe('scaledDotProductAttention dropout', () => {
  const ref = opId('attentionReference');
  /** The addon's naive reference (same keep mask for the same seed). */
  const reference = (q: Tensor, k: Tensor, v: Tensor, p: number): Tensor =>
    tn.Tensor._wrap(native.op(ref, q.id, k.id, v.id, null, null, null, null, false, 'bottom-right', null, null, null, p, false, false) as number);

  test('with v = 1 the output averages 1; the weights lose a fraction p, the rest scaled by 1/(1-p)', () => {
    tn.tidy(() => {
      tn.manualSeed(1);
      const p = 0.3;
      const q = tn.randn([1, 4, 64, 32]);
      const k = tn.randn([1, 4, 256, 32]);
      const ones = tn.ones([1, 4, 256, 32]);
      const mean = sdpa(q, k, ones, { dropoutP: p }).mean().item() as number;
      expect(Math.abs(mean - 1)).toBeLessThan(0.02);
      // v = identity: the output is the dropped-out weight matrix itself
      const eye = tn.eye(256).expand(1, 4, 256, 256);
      const dropped = sdpa(q, k, eye, { dropoutP: p });
      const zeros = dropped.eq(0).to('float64').mean().item() as number;
      expect(Math.abs(zeros - p)).toBeLessThan(0.015);
      const weights = sdpa(q, k, eye, { needWeights: true, dropoutP: p }).weights;
      expectClose(dropped.mul(1 - p), weights.mul(dropped.ne(0)), 1e-6, 1e-5);
    });
  });

  test('reproducible with tn.manualSeed, different across seeds, equal to the naive reference with gradients', () => {
    tn.tidy(() => {
      const q = tn.randn([2, 2, 20, 16], { dtype: 'float64', requiresGrad: true });
      const k = tn.randn([2, 2, 24, 16], { dtype: 'float64', requiresGrad: true });
      const v = tn.randn([2, 2, 24, 16], { dtype: 'float64', requiresGrad: true });
      tn.manualSeed(7);
      const a = sdpa(q, k, v, { dropoutP: 0.25 });
      tn.manualSeed(7);
      const b = sdpa(q, k, v, { dropoutP: 0.25 });
      tn.manualSeed(8);
      const c = sdpa(q, k, v, { dropoutP: 0.25 });
      expectClose(a, b, 0, 0);
      expect(flat(a.sub(c).abs()).some((x) => x > 1e-3)).toBe(true);
      tn.manualSeed(7);
      const r = reference(q, k, v, 0.25);
      expectClose(a, r, 1e-12, 1e-10);
      const g = tn.randn(a.shape, { dtype: 'float64' });
      const fused = tn.autograd.grad(a, [q, k, v], { gradOutputs: [g] });
      const naive = tn.autograd.grad(r, [q, k, v], { gradOutputs: [g] });
      for (let i = 0; i < 3; i++) expectClose(fused[i]!, naive[i]!, 1e-11, 1e-9);
    });
  });
});

// ---- errors -----------------------------------------------------------------------------------

describe('scaledDotProductAttention errors', () => {
  const q = tn.randn([2, 4, 5, 8]);
  const k = tn.randn([2, 4, 7, 8]);
  const v = tn.randn([2, 4, 7, 8]);
  afterAll(() => tn.dispose([q, k, v]));
  const call = (o: Record<string, unknown>, qq = q, kk = k, vv = v) => () => sdpa(qq, kk, vv, o as never);

  test('shapes and dtypes', () => {
    tn.tidy(() => {
      expectThrows(call({}, q.view(8, 5, 8)), 'RangeError', /^scaledDotProductAttention: expected q, k and v to be 4-D \(B, H, L, d\), but got shapes \[8, 5, 8\]/);
      expectThrows(call({}, q.to('int32')), 'TypeError', /expected q, k and v of one floating dtype, but got int32, float32 and float32/);
      expectThrows(call({}, q, k.double()), 'TypeError', /but got float32, float64 and float32/);
      expectThrows(call({}, q, k.narrow(3, 0, 4)), 'Error', /k must have the head dim of q \(8\), but got shape \[2, 4, 7, 4\]/);
      expectThrows(call({}, q, k, v.narrow(2, 0, 6)), 'Error', /v must be \(B, 4, 7, dv\) like k/);
      expectThrows(call({}, q, k.narrow(0, 0, 1), v.narrow(0, 0, 1)), 'Error', /same batch size/);
      expectThrows(call({}, q, k.narrow(1, 0, 2), v.narrow(1, 0, 2)), 'Error', /as many heads as q \(4\), but got 2 \(set enableGqa/);
      expectThrows(call({ enableGqa: true }, q, k.narrow(1, 0, 3), v.narrow(1, 0, 3)), 'Error', /must be a multiple of the key\/value heads, but got 3/);
      expectThrows(call({ attnMask: tn.ones([5, 6], { dtype: 'bool' }) }), 'Error', /mask must be broadcastable to \(B, Hq, Lq, Lk\) = \[2, 4, 5, 7\], but got shape \[5, 6\]/);
      expectThrows(call({ attnMask: tn.ones([5, 7], { dtype: 'int64' }) }), 'TypeError', /attnMask to be bool .* but got int64/);
      expectThrows(call({ keyPaddingLengths: [1, 2, 3] }), 'Error', /keyPaddingLengths must have shape \[2\], but got \[3\]/);
      expectThrows(call({ alibiSlopes: [1, 2] }), 'Error', /alibiSlopes must have shape \[4\] or \[2, 4\], but got \[2\]/);
    });
  });

  test('options', () => {
    expectThrows(call({ slidingWindow: [-2, 3] }), 'RangeError', /^scaledDotProductAttention: expected slidingWindow to be \[left, right\] integers >= -1, but got array \[number -2, number 3\]$/);
    expectThrows(call({ slidingWindow: [1.5, 3] }), 'TypeError', /expected slidingWindow to be \[left, right\] integers >= -1/);
    expectThrows(call({ slidingWindow: 3 }), 'TypeError', /slidingWindow/);
    expectThrows(call({ causalAlign: 'bottom' }), 'TypeError', /expected causalAlign to be 'bottom-right' or 'top-left', but got string 'bottom'/);
    expectThrows(call({ dropoutP: 1 }), 'RangeError', /expected dropoutP to be in \[0, 1\), but got number 1/);
    expectThrows(call({ dropoutP: '0.1' }), 'TypeError', /dropoutP/);
    expectThrows(call({ isCausal: 1 }), 'TypeError', /expected isCausal to be a boolean, but got number 1/);
    expectThrows(call({ scale: Infinity }), 'TypeError', /expected scale to be a finite number/);
    expectThrows(call({ softcap: -1 }), 'RangeError', /softcap to be a finite number >= 0/);
    expectThrows(call({ keyPaddingLengths: [1, -1] }), 'TypeError', /keyPaddingLengths to be a Tensor or a non-empty array of integers >= 0/);
    expectThrows(call({ alibiSlopes: 'x' }), 'TypeError', /alibiSlopes/);
    expectThrows(call({ attnMask: [[true]] }), 'TypeError', /attnMask to be a Tensor/);
    expectThrows(call({ isCasual: true }), 'TypeError', /unknown option 'isCasual' \(known: attnMask, /);
    expectThrows(() => sdpa(q, k, 'v' as never), 'TypeError', /scaledDotProductAttention: v: expected a Tensor, but got string 'v'/);
    const d = tn.randn([2, 4, 7, 8]);
    d.dispose();
    expectThrows(() => sdpa(q, k, d), 'Error', /disposed/);
  });
});

// ---- Module and Linear -----------------------------------------------------------------------

class Block extends tn.nn.Module {
  declare fc: tn.nn.Linear;
  declare scale: Tensor;
  declare steps: Tensor;
  declare cache: Tensor;
  declare inner: tn.nn.Linear | null;
  constructor() {
    super();
    this.registerModule('fc', new tn.nn.Linear(3, 2));
    this.registerParameter('scale', tn.ones([2]));
    this.registerBuffer('steps', tn.zeros([1], { dtype: 'int64' }));
    this.registerBuffer('cache', tn.zeros([2]), false);
    this.registerModule('inner', null);
  }
  forward(x: Tensor): Tensor {
    return tn.tidy(() => this.fc.forward(x).mul(this.scale));
  }
}

class Net extends tn.nn.Module {
  declare a: Block;
  declare b: Block;
  declare head: tn.nn.Linear;
  constructor() {
    super();
    this.registerModule('a', new Block());
    this.registerModule('b', new Block());
    this.registerModule('head', new tn.nn.Linear(2, 1, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return tn.tidy(() => this.head.forward(this.b.forward(this.a.forward(x).tanh().matmul(tn.ones([2, 3], { dtype: x.dtype })))));
  }
}

describe('Module', () => {
  test('names, order and kinds as PyTorch', () => {
    const n = new Net();
    try {
      expect(n.namedParameters().map(([k]) => k)).toEqual(['a.scale', 'a.fc.weight', 'a.fc.bias', 'b.scale', 'b.fc.weight', 'b.fc.bias', 'head.weight']);
      expect(n.namedBuffers().map(([k]) => k)).toEqual(['a.steps', 'a.cache', 'b.steps', 'b.cache']);
      expect(Object.keys(tn.tidy(() => n.stateDict()))).toEqual([
        'a.scale', 'a.steps', 'a.fc.weight', 'a.fc.bias', 'b.scale', 'b.steps', 'b.fc.weight', 'b.fc.bias', 'head.weight',
      ]);
      expect(n.children().length).toBe(3);
      expect(n.namedModules().map(([k]) => k)).toEqual(['', 'a', 'a.fc', 'b', 'b.fc', 'head']);
      expect(n.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
      expect(n.a.fc.weight.shape).toEqual([2, 3]);
      expect(n.a.inner).toBeNull();
      expect(n.toString()).toBe(
        'Net(\n  (a): Block(\n    (fc): Linear(in_features=3, out_features=2, bias=true)\n  )\n  (b): Block(\n    (fc): Linear(in_features=3, out_features=2, bias=true)\n  )\n  (head): Linear(in_features=2, out_features=1, bias=false)\n)',
      );
    } finally {
      n.dispose();
    }
  });

  test('parameters survive tidy scopes; stateDict views share storage; tied weights', () => {
    const n = tn.tidy(() => new Net());
    try {
      tn.tidy(() => n.forward(tn.randn([4, 3])));
      expect(n.parameters().every((p) => !p.isDisposed)).toBe(true);
      const sd = tn.tidy(() => n.stateDict());
      sd['head.weight'].fill_(2);
      expect(flat(n.head.weight)).toEqual([2, 2]);
      expect(sd['head.weight'].requiresGrad).toBe(false);
      expect(n.stateDict({ keepVars: true })['head.weight']).toBe(n.head.weight);
      tn.dispose(sd);
      n.b.fc = n.a.fc; // tied: the module once in parameters(), under both names in stateDict
      expect(n.parameters().length).toBe(5);
      expect(Object.keys(n.stateDict({ keepVars: true }))).toContain('b.fc.weight');
    } finally {
      n.dispose();
    }
  });

  test('loadStateDict copies in place and reports every problem', () => {
    const src = new Net();
    const dst = new Net();
    try {
      const w = dst.a.fc.weight;
      const sd = src.stateDict({ keepVars: true });
      expect(dst.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      expect(dst.a.fc.weight).toBe(w); // same tensor, new values
      expectClose(w, src.a.fc.weight, 0, 0);
      expect(w.requiresGrad).toBe(true);
      const bad: Record<string, Tensor> = { ...sd, extra: tn.zeros([1]), 'head.weight': tn.zeros([2, 2]) };
      delete bad['a.scale'];
      const e = expectThrows(() => dst.loadStateDict(bad), 'Error');
      expect(e.message).toBe(
        'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "a.scale".\n\tUnexpected key(s) in state_dict: "extra".\n\t' +
          'size mismatch for head.weight: copying a param with shape [2, 2] from checkpoint, the shape in current model is [1, 2].',
      );
      bad['head.weight'] = sd['head.weight'];
      sd['b.fc.bias'].detach().fill_(5); // (the copy below must not have happened before the error)
      expect(dst.loadStateDict(bad, { strict: false })).toEqual({ missingKeys: ['a.scale'], unexpectedKeys: ['extra'] });
      expect(flat(dst.b.fc.bias!)).toEqual([5, 5]);
      // a Python-style dict through safetensors
      const bytes = tn.serializeSafetensors(tn.tidy(() => src.stateDict()));
      const loaded = tn.loadSafetensors(bytes);
      dst.loadStateDict(loaded);
      tn.dispose(loaded);
    } finally {
      src.dispose();
      dst.dispose();
    }
  });

  test('train/eval, to(dtype), zeroGrad, dispose', () => {
    const n = new Net();
    expect(n.training).toBe(true);
    n.eval();
    expect(n.modules().every((m) => !m.training)).toBe(true);
    n.train();
    expect(n.a.fc.training).toBe(true);
    tn.tidy(() => n.forward(tn.randn([2, 3])).sum().backward());
    expect(n.head.weight.grad).not.toBeNull();
    n.zeroGrad(false);
    expect(flat(n.head.weight.grad!)).toEqual([0, 0]);
    n.zeroGrad();
    expect(n.head.weight.grad).toBeNull();
    const old = n.a.fc.weight;
    n.to('float64');
    expect(old.isDisposed).toBe(true);
    expect(n.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad && p.isLeaf)).toBe(true);
    expect(n.a.steps.dtype).toBe('int64'); // integer buffers keep their dtype
    expect(n.a.cache.dtype).toBe('float64');
    expect(tn.tidy(() => n.forward(tn.randn([2, 3], { dtype: 'float64' })).dtype)).toBe('float64');
    const params = n.parameters();
    n.dispose();
    expect(params.every((p) => p.isDisposed)).toBe(true);
    expect(n.isDisposed).toBe(true);
    expectThrows(() => n.stateDict(), 'Error', /disposed/);
  });

  test('registration errors', () => {
    const n = new Net();
    try {
      expectThrows(() => n.registerParameter('a.b', tn.ones([1])), 'TypeError', /a name without dots/);
      expectThrows(() => n.registerParameter('a', tn.ones([1])), 'TypeError', /'a' is already registered as a module/);
      expectThrows(() => n.registerBuffer('forward', tn.ones([1])), 'TypeError', /attribute 'forward' already exists on Net/);
      expectThrows(() => n.registerParameter('p', tn.ones([1], { dtype: 'int64' })), 'TypeError', /a floating-point tensor/);
      tn.tidy(() => {
        const x = tn.ones([1], { requiresGrad: true });
        expectThrows(() => n.registerParameter('p', x.mul(2)), 'TypeError', /expected a leaf tensor.*pass t.detach\(\)/);
      });
      expectThrows(() => n.registerModule('m', {} as never), 'TypeError', /a Module or null/);
      expectThrows(() => ((n as unknown as Record<string, unknown>).head = 3), 'TypeError', /Net.head: expected a Module or null/);
    } finally {
      n.dispose();
    }
  });
});

describe('Linear', () => {
  test('y = x Wᵀ + b, PyTorch initialisation bounds, no bias', () => {
    tn.tidy(() => {
      const fc = new tn.nn.Linear(64, 8);
      expect(fc.weight.shape).toEqual([8, 64]);
      expect(fc.bias!.shape).toEqual([8]);
      const bound = 1 / 8;
      expect(flat(fc.weight).every((x) => Math.abs(x) <= bound)).toBe(true);
      expect(fc.weight.abs().max().item() as number).toBeGreaterThan(bound * 0.9);
      const x = tn.randn([5, 64]);
      expectClose(fc.forward(x), x.matmul(fc.weight.t()).add(fc.bias!), 1e-5, 1e-5);
      const nb = new tn.nn.Linear(4, 3, { bias: false, dtype: 'float64' });
      expect(nb.bias).toBeNull();
      expect(Object.keys(nb.stateDict({ keepVars: true }))).toEqual(['weight']);
      expect(nb.weight.dtype).toBe('float64');
      nb.dispose();
      fc.dispose();
    });
  });
});

// ---- MultiheadAttention ----------------------------------------------------------------------

interface MhaSpec {
  name: string;
  embedDim: number;
  numHeads: number;
  kdim?: number;
  vdim?: number;
  bias?: boolean;
  batchFirst: boolean;
  self?: boolean;
  kpm?: 'bool' | 'float';
  attnMask?: 'float2d' | 'bool3d' | 'causal';
  needWeights: boolean;
  average?: boolean;
}

describe('MultiheadAttention against torch.nn.MultiheadAttention', () => {
  const { tensors: M, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('attention_mha'));
  const specs: MhaSpec[] = JSON.parse(metadata!.cases);

  test.each(specs.map((c) => [c.name, c] as const))('%s: outputs, weights and gradients', (_name, c) => {
    tn.tidy(() => {
      const m = new tn.nn.MultiheadAttention({
        embedDim: c.embedDim, numHeads: c.numHeads, kdim: c.kdim, vdim: c.vdim, bias: c.bias ?? true, batchFirst: c.batchFirst, dtype: 'float64',
      });
      try {
        const sd: Record<string, Tensor> = {};
        for (const [k, t] of Object.entries(M)) if (k.startsWith(`${c.name}.sd.`)) sd[k.slice(c.name.length + 4)] = t;
        expect(Object.keys(m.stateDict({ keepVars: true })).sort()).toEqual(Object.keys(sd).sort());
        m.loadStateDict(sd);
        const input = (n: string): Tensor | undefined => M[`${c.name}.in.${n}`]?.clone().requiresGrad_(true);
        const query = input('query')!;
        const key = c.self ? query : input('key')!;
        const value = c.self ? query : input('value')!;
        const kpm = M[`${c.name}.in.key_padding_mask`];
        const { output, weights } = m.forward(query, key, value, {
          keyPaddingMask: kpm,
          attnMask: c.attnMask === 'causal' ? undefined : M[`${c.name}.in.attn_mask`],
          isCausal: c.attnMask === 'causal',
          needWeights: c.needWeights,
          averageAttnWeights: c.average,
        });
        expectClose(output, M[`${c.name}.out`], 1e-10, 1e-8, { what: 'output' });
        let loss = output.mul(M[`${c.name}.gout`]).sum();
        if (c.needWeights) {
          expectClose(weights!, M[`${c.name}.weights`], 1e-10, 1e-8, { what: 'weights' });
          loss = loss.add(weights!.mul(M[`${c.name}.gweights`]).sum());
        } else {
          expect(weights).toBeNull();
        }
        loss.backward();
        const grads: [string, Tensor][] = [['query', query]];
        if (!c.self) grads.push(['key', key], ['value', value]);
        for (const [n, p] of m.namedParameters()) grads.push([n, p]);
        for (const [n, t] of grads) expectClose(t.grad!, M[`${c.name}.grad.${n}`], 1e-9, 1e-7, { what: `grad of ${n}` });
      } finally {
        m.dispose();
      }
    });
  });

  test('defaults, initialisation, dropout only in training, errors', () => {
    tn.tidy(() => {
      const m = new tn.nn.MultiheadAttention({ embedDim: 32, numHeads: 4, dropout: 0.5, batchFirst: true });
      try {
        expect(Object.keys(m.stateDict({ keepVars: true }))).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
        expect(flat(m.in_proj_bias!).every((x) => x === 0)).toBe(true);
        expect(flat(m.out_proj.bias!).every((x) => x === 0)).toBe(true);
        expect(m.in_proj_weight!.abs().max().item() as number).toBeLessThanOrEqual(Math.sqrt(6 / 128));
        const x = tn.randn([2, 6, 32]);
        const r = m.forward(x, x, x);
        expect(r.output.shape).toEqual([2, 6, 32]);
        expect(r.weights!.shape).toEqual([2, 6, 6]);
        m.eval();
        const a = m.forward(x, x, x, { needWeights: false }).output;
        const b = m.forward(x, x, x, { needWeights: false }).output;
        expectClose(a, b, 0, 0); // no dropout in eval mode
        m.train();
        tn.manualSeed(3);
        const c1 = m.forward(x, x, x, { needWeights: false }).output;
        expect(flat(c1.sub(a).abs()).some((d) => d > 1e-4)).toBe(true);
        expect(m.forward(x, x, x, { averageAttnWeights: false }).weights!.shape).toEqual([2, 4, 6, 6]);
        expectThrows(() => m.forward(x, x, x, { keyPaddingMask: tn.zeros([2, 5], { dtype: 'bool' }) }), 'RangeError', /expected keyPaddingMask of shape \[2, 6\], but got \[2, 5\]/);
        expectThrows(() => m.forward(x, x, x, { attnMask: tn.zeros([6, 5]) }), 'RangeError', /expected a 2-D attnMask of shape \[6, 6\], but got \[6, 5\]/);
        expectThrows(() => m.forward(x, x, x, { attnMask: tn.zeros([6, 6], { dtype: 'int64' }) }), 'TypeError', /a bool or floating tensor/);
        expectThrows(() => m.forward(x, x.narrow(2, 0, 16), x), 'RangeError', /expected key to have 32 features/);
        expectThrows(() => m.forward(x, x, x, { needWeight: false } as never), 'TypeError', /unknown option 'needWeight'/);
        expectThrows(() => new tn.nn.MultiheadAttention({ embedDim: 30, numHeads: 4 }), 'RangeError', /embedDim to be a multiple of numHeads/);
        const other = new tn.nn.MultiheadAttention({ embedDim: 32, numHeads: 4, kdim: 16 });
        expect(Object.keys(other.stateDict({ keepVars: true }))).toEqual(['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
        expectThrows(() => other.loadStateDict(m.stateDict({ keepVars: true })), 'Error', /Missing key\(s\) in state_dict: "q_proj_weight", "k_proj_weight", "v_proj_weight"\.\n\tUnexpected key\(s\) in state_dict: "in_proj_weight"\./);
        other.dispose();
      } finally {
        m.dispose();
      }
    });
  });
});

// ---- KVCache -----------------------------------------------------------------------------------

describe('KVCache', () => {
  test('decoding one token against a cache of 4096 equals the full recompute’s last row, through views', () => {
    tn.tidy(() => {
      const [B, H, N, d] = [1, 2, 4096, 16];
      const q = tn.randn([B, H, N, d]);
      const k = tn.randn([B, H, N, d]);
      const v = tn.randn([B, H, N, d]);
      const cache = new tn.nn.KVCache({ batchSize: B, numHeads: H, headDim: d, maxLength: N });
      try {
        expect(cache.append(k.narrow(2, 0, N - 1), v.narrow(2, 0, N - 1))).toBe(N - 1);
        cache.append(k.narrow(2, N - 1, 1), v.narrow(2, N - 1, 1));
        expect(cache.length).toBe(N);
        const bytes = tn.memory().bytes;
        const keys = cache.keys();
        const values = cache.values();
        expect(tn.memory().bytes).toBe(bytes); // views: no copy of the prefix
        expect(keys.stride()).toEqual([H * N * d, N * d, d, 1]);
        const step = sdpa(q.narrow(2, N - 1, 1), keys, values, { isCausal: true });
        const full = sdpa(q, k, v, { isCausal: true });
        expectClose(step, full.narrow(2, N - 1, 1), 1e-6, 1e-5);
      } finally {
        cache.dispose();
      }
    });
  });

  test('step by step and in chunks, with GQA, equal to the full causal recompute', () => {
    tn.tidy(() => {
      const [B, Hq, Hkv, N, d] = [2, 4, 2, 24, 8];
      const q = tn.randn([B, Hq, N, d], { dtype: 'float64' });
      const k = tn.randn([B, Hkv, N, d], { dtype: 'float64' });
      const v = tn.randn([B, Hkv, N, d], { dtype: 'float64' });
      const full = sdpa(q, k, v, { isCausal: true, enableGqa: true });
      const cache = new tn.nn.KVCache({ batchSize: B, numHeads: Hkv, headDim: d, maxLength: 32, dtype: 'float64' });
      try {
        let t = 0;
        for (const len of [10, 1, 1, 3, 1, 5, 3]) {
          cache.append(k.narrow(2, t, len), v.narrow(2, t, len));
          const out = sdpa(q.narrow(2, t, len), cache.keys(), cache.values(), { isCausal: true, enableGqa: true });
          expectClose(out, full.narrow(2, t, len), 1e-12, 1e-10, { what: `steps ${t}..${t + len}` });
          t += len;
        }
        expect(cache.length).toBe(N);
        cache.truncate(20);
        expect(cache.length).toBe(20);
        cache.reset();
        expect(cache.length).toBe(0);
        expect(cache.keys().shape).toEqual([B, Hkv, 0, d]);
      } finally {
        cache.dispose();
      }
    });
  });

  test('errors', () => {
    tn.tidy(() => {
      const cache = new tn.nn.KVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 3 });
      expectThrows(() => cache.append(tn.zeros([1, 2, 4, 4]), tn.zeros([1, 2, 4, 4])), 'RangeError', /expected at most 3 more steps \(maxLength 3, length 0\), but got 4/);
      expectThrows(() => cache.append(tn.zeros([1, 3, 1, 4]), tn.zeros([1, 3, 1, 4])), 'RangeError', /expected k of shape \[1, 2, T, 4\], but got \[1, 3, 1, 4\]/);
      expectThrows(() => cache.append(tn.zeros([1, 2, 1, 4]), tn.zeros([1, 2, 2, 4])), 'RangeError', /expected v of shape \[1, 2, 1, 4\]/);
      expectThrows(() => new tn.nn.KVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 0 }), 'RangeError', /maxLength/);
      cache.dispose();
      expectThrows(() => cache.keys(), 'Error', /disposed/);
    });
  });
});

test('exports', () => {
  expect(typeof tn.nn.Module).toBe('function');
  expect(typeof tn.nn.Linear).toBe('function');
  expect(typeof tn.nn.MultiheadAttention).toBe('function');
  expect(typeof tn.nn.KVCache).toBe('function');
  expect(typeof tn.nn.functional.scaledDotProductAttention).toBe('function');
  expect(typeof tn.nn.functional.scaledDotProductAttentionAsync).toBe('function');
  expect(new tn.nn.MultiheadAttention({ embedDim: 4, numHeads: 2 })).toBeInstanceOf(tn.nn.Module);
});
