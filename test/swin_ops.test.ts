/**
 * Swin window ops (tn.swin) against the official semantics, written in Python in
 * test/reference/make_swin_fixtures.py (float64 outputs and gradients): the fused shift +
 * partition and its inverse, the plain partition/reverse, padding to the window, the shift
 * mask, the relative position index and the fused window attention; plus the fused
 * attention against the unfused path here, the stage rule and the error messages.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { native, opId } from '../lib/binding';
import { FixtureCase, countTicks, expectClose, expectRejects, expectThrows, flat, loadCases } from './helpers';

const S = tn.swin;
const WS = 7;

const { cases, all } = loadCases('swin');
afterAll(() => tn.dispose(all));

const get = (name: string): FixtureCase => {
  const c = cases.get(name);
  if (!c) throw new Error(`fixture case ${name} is missing; run npm run fixtures:swin`);
  return c;
};

/** Runs fn on the case's inputs (floating ones with gradients), compares outputs and gradients. */
function check(name: string, fn: (inputs: Record<string, Tensor>) => Tensor | Tensor[], tol: [number, number] = [0, 0], gradTol = tol): void {
  const c = get(name);
  tn.tidy(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(c.inputs)) inputs[k] = k in c.grads ? t.clone().requiresGrad_() : t;
    const out = fn(inputs);
    const outs = Array.isArray(out) ? out : [out];
    outs.forEach((o, i) => expectClose(o, c.outputs[i], tol[0], tol[1], { what: `${name} out ${i}` }));
    if (Object.keys(c.grads).length === 0) return;
    let loss: Tensor | undefined;
    for (const [i, g] of c.gouts) {
      const term = outs[i].mul(g).sum();
      loss = loss ? loss.add(term) : term;
    }
    loss!.backward();
    for (const [k, expected] of Object.entries(c.grads)) {
      const g = inputs[k].grad;
      if (g === null) throw new Error(`${name}: input ${k} got no gradient`);
      expectClose(g, expected, gradTol[0], gradTol[1], { what: `${name} d/d${k}` });
    }
  });
}

describe('rollAndWindowPartition / windowMergeAndRoll', () => {
  for (const [H, W] of [[14, 14], [56, 56], [21, 35]]) {
    for (const shift of [0, 3]) {
      test(`${H}x${W} shift ${shift}: forward and backward as roll(-shift) + partition`, () => {
        check(`rollpart_${H}x${W}_s${shift}`, ({ x }) => S.rollAndWindowPartition(x, WS, shift));
      });
      test(`${H}x${W} shift ${shift}: forward and backward as reverse + roll(+shift)`, () => {
        check(`mergeroll_${H}x${W}_s${shift}`, ({ windows }) => S.windowMergeAndRoll(windows, WS, H, W, shift));
      });
    }
  }

  test('each is the inverse of the other, for every dtype, shapes (B*nW, N, C) and (B*nW, ws, ws, C)', () =>
    tn.tidy(() => {
      for (const dtype of ['float32', 'float64', 'int64', 'bool'] as const) {
        const x = tn.arange(0, 2 * 21 * 14 * 5, 1, { dtype: 'int64' }).reshape([2, 21, 14, 5]).remainder(dtype === 'bool' ? 2 : 1000).to(dtype);
        for (const shift of [0, 1, 3, 6, 10, -2]) {
          const w = S.rollAndWindowPartition(x, WS, shift);
          expect(w.shape).toEqual([2 * 6, 49, 5]);
          expect(flat(S.windowMergeAndRoll(w, WS, 21, 14, shift))).toEqual(flat(x));
          expect(flat(S.windowMergeAndRoll(w.reshape([12, 7, 7, 5]), WS, 21, 14, shift))).toEqual(flat(x));
        }
      }
    }));

  test('matches the naive roll + view/permute on a strided (non-contiguous) input', () =>
    tn.tidy(() => {
      const x = tn.randn([2, 5, 14, 28]).permute([0, 3, 2, 1]); // (2, 28, 14, 5), not contiguous
      const ref = tn.roll(x, [-3, -3], [1, 2]).reshape([2, 4, 7, 2, 7, 5]).permute([0, 1, 3, 2, 4, 5]).reshape([-1, 49, 5]);
      expectClose(S.rollAndWindowPartition(x, WS, 3), ref, 0, 0);
    }));

  test('the naive ATen version agrees with the fused one', () =>
    tn.tidy(() => {
      const x = tn.randn([3, 14, 21, 4]);
      const fused = S.rollAndWindowPartition(x, WS, 3);
      const naive = tn.Tensor._wrap(native.op(opId('swinRollAndWindowPartitionReference'), x.id, WS, 3) as number);
      expectClose(fused, naive, 0, 0);
      const back = tn.Tensor._wrap(native.op(opId('swinWindowMergeAndRollReference'), fused.id, WS, 14, 21, 3) as number);
      expectClose(S.windowMergeAndRoll(fused, WS, 14, 21, 3), back, 0, 0);
    }));

  test('double backward goes through the pair (each backward is the other op, itself differentiable)', () =>
    tn.tidy(() => {
      const x = tn.randn([1, 14, 14, 2], { dtype: 'float64', requiresGrad: true });
      const w = S.rollAndWindowPartition(x, WS, 3);
      const [g] = tn.autograd.grad(w.pow(3).sum(), x, { createGraph: true });
      expectClose(g!, x.pow(2).mul(3).detach(), 1e-12, 1e-12);
      const [gg] = tn.autograd.grad(g!.sum(), x);
      expectClose(gg!, x.mul(6).detach(), 1e-12, 1e-12);
    }));
});

describe('windowPartition / windowReverse', () => {
  test('as the official window_partition (B*nW, ws, ws, C)', () => {
    check('partition_14x14', ({ x }) => S.windowPartition(x, WS));
  });
  test('as the official window_reverse', () => {
    check('reverse_14x14', ({ windows }) => S.windowReverse(windows, WS, 14, 14));
  });
});

describe('padToWindow', () => {
  test('pads right and bottom as F.pad; shift + partition and back on a 30x45 image', () => {
    check('padded_30x45_s3', ({ x }) => {
      const { x: xp, padH, padW } = S.padToWindow(x, WS);
      expect([padH, padW]).toEqual([5, 4]);
      expect(xp.shape).toEqual([1, 35, 49, 2]);
      const w = S.rollAndWindowPartition(xp, WS, 3);
      const y = S.windowMergeAndRoll(w.mul(2), WS, 35, 49, 3).index(':', ':30', ':45').contiguous();
      return [w, y];
    });
  });
  test('returns the input itself when the resolution is already a multiple', () =>
    tn.tidy(() => {
      const x = tn.zeros([1, 14, 21, 3]);
      const r = S.padToWindow(x, WS);
      expect(r.x).toBe(x);
      expect([r.padH, r.padW]).toEqual([0, 0]);
    }));
});

describe('shiftedWindowMask', () => {
  for (const [H, W, shift] of [[14, 14, 3], [56, 56, 3], [35, 49, 3], [14, 21, 2], [7, 7, 3]]) {
    test(`${H}x${W} shift ${shift}: the official -100 mask`, () =>
      tn.tidy(() => {
        const c = get(`mask_${H}x${W}_s${shift}`);
        const m = S.shiftedWindowMask(H, W, WS, shift);
        expect(m.dtype).toBe('float32');
        expect(m.shape).toEqual([(H / WS) * (W / WS), 49, 49]);
        expectClose(m, tn.where(c.outputs[0], tn.full([], -100), tn.zeros([])), 0, 0, { what: 'mask' });
        const inf = S.shiftedWindowMask(H, W, WS, shift, { fill: '-inf', dtype: 'float64' });
        expectClose(inf, tn.where(c.outputs[0], tn.full([], -Infinity, { dtype: 'float64' }), tn.zeros([], { dtype: 'float64' })), 0, 0);
      }));
  }
  test('shift 0 gives zeros (every token sees its whole window)', () =>
    tn.tidy(() => {
      expect(S.shiftedWindowMask(14, 14, WS, 0).abs().sum().item()).toBe(0);
    }));
});

describe('relativePositionIndex', () => {
  for (const [wh, ww] of [[7, 7], [3, 5], [1, 1]]) {
    test(`${wh}x${ww}: the official relative_position_index`, () =>
      tn.tidy(() => {
        const idx = S.relativePositionIndex(wh === ww ? wh : [wh, ww]);
        expect(idx.dtype).toBe('int64');
        expectClose(idx, get(`index_${wh}x${ww}`).outputs[0], 0, 0);
      }));
  }
  test('index = (dh + ws - 1) * (2ws - 1) + (dw + ws - 1)', () =>
    tn.tidy(() => {
      const v = flat(S.relativePositionIndex(7));
      // token 0 = (0, 0) attending to token 48 = (6, 6): dh = dw = -6 -> 0; the reverse -> 12 * 13 + 12
      expect(v[0 * 49 + 48]).toBe(0);
      expect(v[48 * 49 + 0]).toBe(12 * 13 + 12);
      expect(v[0]).toBe(6 * 13 + 6);
    }));
});

describe('windowAttention', () => {
  const specs: [string, number, number, number, string | null][] = [
    ['attn_14x14_s3', 14, 14, 3, '-100'],
    ['attn_14x14_s0', 14, 14, 0, null],
    ['attn_14x14_s3_inf', 14, 14, 3, '-inf'],
    ['attn_56x56_s3', 56, 56, 3, '-100'],
    ['attn_35x49_s3', 35, 49, 3, '-100'],
  ];
  for (const [name, H, W, shift, fill] of specs) {
    for (const fused of [true, false]) {
      test(`${name} (${fused ? 'fused' : 'unfused'}): output and gradients of q, k, v and the bias table`, () => {
        check(
          name,
          ({ q, k, v, table, index }) => {
            const mask = fill === null ? null : S.shiftedWindowMask(H, W, WS, shift, { fill: fill === '-inf' ? '-inf' : -100 });
            return S.windowAttention(q, k, v, table, index, { mask, scale: q.shape[3] ** -0.5, fused });
          },
          [1e-10, 1e-8],
          [1e-9, 1e-7],
        );
      });
    }
  }

  test('float32, the shape of a Swin-T stage-1 block: fused agrees with unfused, gradients too', () =>
    tn.tidy(() => {
      const [B, nW, nH, N, d] = [2, 64, 3, 49, 32];
      tn.manualSeed(0);
      const q = tn.randn([B * nW, nH, N, d], { requiresGrad: true });
      const k = tn.randn([B * nW, nH, N, d], { requiresGrad: true });
      const v = tn.randn([B * nW, nH, N, d], { requiresGrad: true });
      const table = tn.randn([169, nH]).mul(0.02).requiresGrad_();
      const index = S.relativePositionIndex(7);
      const mask = S.shiftedWindowMask(56, 56, 7, 3);
      const gout = tn.randn([B * nW, nH, N, d]);
      const grads = (fused: boolean): Tensor[] => {
        for (const t of [q, k, v, table]) t.grad = null;
        const out = S.windowAttention(q, k, v, table, index, { mask, scale: d ** -0.5, fused });
        out.mul(gout).sum().backward();
        return [out.detach(), q.grad!, k.grad!, v.grad!, table.grad!];
      };
      const a = grads(true);
      const b = grads(false);
      ['out', 'dq', 'dk', 'dv', 'dtable'].forEach((what, i) => expectClose(a[i], b[i], 2e-4, 2e-4, { what }));
    }));

  test('windowAttentionAsync: the same result on the native worker while the event loop turns', async () => {
    // ~20 ms of work per call, three calls: long enough that the loop turns even when CI's
    // other jest worker holds a core (one 6 ms call was not, once).
    const [q, k, v] = [1, 2, 3].map(() => tn.randn([64 * 16, 3, 49, 32]));
    const table = tn.randn([169, 3]);
    const index = S.relativePositionIndex(7);
    const mask = S.shiftedWindowMask(56, 56, 7, 3);
    const ticks = countTicks();
    let a = await S.windowAttentionAsync(q, k, v, table, index, { mask });
    for (let i = 0; i < 2; i++) {
      a.dispose();
      a = await S.windowAttentionAsync(q, k, v, table, index, { mask });
    }
    const turned = ticks.stop();
    const b = S.windowAttention(q, k, v, table, index, { mask });
    expectClose(a, b, 0, 0);
    expect(turned).toBeGreaterThan(0);
    await expectRejects(S.windowAttentionAsync(q, k, v, table, index, { mask: tn.zeros([3, 49, 49]) }), 'Error', /^windowAttention: expected mask/);
    await expectRejects(S.windowAttentionAsync(q, k, v, table, index, { scale: 'x' as never }), 'TypeError', /windowAttentionAsync: scale/);
    tn.dispose([q, k, v, table, index, mask, a, b]);
  });

  test('q, k, v sliced from a qkv projection (non-contiguous) as the official block does', () =>
    tn.tidy(() => {
      const [Bw, N, nH, d] = [8, 49, 2, 4];
      const qkv = tn.randn([Bw, N, 3, nH, d], { dtype: 'float64' }).permute([2, 0, 3, 1, 4]);
      const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i));
      const table = tn.randn([169, nH], { dtype: 'float64' });
      const index = S.relativePositionIndex(7);
      const mask = S.shiftedWindowMask(14, 14, 7, 3);
      const a = S.windowAttention(q, k, v, table, index, { mask });
      const b = S.windowAttention(q.contiguous(), k.contiguous(), v.contiguous(), table, index, { mask, fused: false });
      expectClose(a, b, 1e-10, 1e-8);
    }));
});

describe('patchMerge / patchUnmerge', () => {
  test('the official PatchMerging gather: cat of x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]', () => {
    check('patchmerge_14x14', ({ x }) => S.patchMerge(x));
  });
  test('odd sizes are padded at the bottom and right first (7x9 -> 4x5)', () => {
    check('patchmerge_7x9', ({ x }) => S.patchMerge(x));
  });
  test('patchUnmerge is the inverse, for float and int64, and its backward is patchMerge', () =>
    tn.tidy(() => {
      for (const dtype of ['float32', 'int64'] as const) {
        const x = tn.arange(0, 2 * 6 * 10 * 3, 1, { dtype }).reshape([2, 6, 10, 3]);
        const y = S.patchMerge(x);
        expect(y.shape).toEqual([2, 3, 5, 12]);
        expect(flat(S.patchUnmerge(y, 6, 10))).toEqual(flat(x));
      }
      const m = tn.randn([1, 3, 5, 8], { dtype: 'float64', requiresGrad: true });
      const g = tn.randn([1, 6, 10, 2], { dtype: 'float64' });
      S.patchUnmerge(m, 6, 10).backward(g);
      expectClose(m.grad!, S.patchMerge(g), 0, 0);
    }));
  test('errors', () =>
    tn.tidy(() => {
      expectThrows(() => S.patchMerge(tn.zeros([4, 4, 3])), 'RangeError', /^patchMerge: expected x of shape \(B, H, W, C\), but got shape \[4, 4, 3\]/);
      expectThrows(() => S.patchUnmerge(tn.zeros([1, 2, 2, 6]), 4, 4), 'Error', /^patchUnmerge: expected merged of shape \(B, 2, 2, 4C\), but got \[1, 2, 2, 6\]/);
      expectThrows(() => S.patchUnmerge(tn.zeros([1, 2, 2, 8]), 4, 5), 'Error', /^patchUnmerge: expected H and W even, but got H 4 and W 5/);
    }));
});

describe('the attention half of a Swin block, composed from the ops', () => {
  const F = tn.nn.functional;
  /** roll + partition, qkv, window attention with bias and mask, proj, reverse + roll, with the stage rule. */
  function blockAttention(x: Tensor, H: number, W: number, p: Record<string, Tensor>, shiftSize: number): Tensor {
    const { windowSize: ws, shiftSize: shift } = S.stageWindow(H, W, 7, shiftSize);
    const [B, , C] = x.shape;
    const nH = p.table.shape[1];
    const [N, d] = [ws * ws, C / nH];
    const xw = S.rollAndWindowPartition(x.view([B, H, W, C]), ws, shift);
    const Bw = xw.shape[0];
    const qkv = F.linear(xw, p.qkv_w, p.qkv_b).reshape([Bw, N, 3, nH, d]).permute([2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i));
    const mask = shift > 0 ? S.shiftedWindowMask(H, W, ws, shift) : null;
    const o = S.windowAttention(q, k, v, p.table, S.relativePositionIndex(ws), { mask, scale: d ** -0.5 });
    const y = F.linear(o.transpose(1, 2).reshape([Bw, N, C]), p.proj_w, p.proj_b);
    return S.windowMergeAndRoll(y, ws, H, W, shift).reshape([B, H * W, C]);
  }
  const cases: [number, number, number, string][] = [
    [14, 14, 3, 'shifted'],
    [14, 14, 0, 'unshifted'],
    [7, 7, 3, 'stage 4 of Swin-T: resolution = window, the shift is dropped'],
    [4, 4, 3, 'resolution < window: window = resolution, no shift'],
  ];
  for (const [H, W, shift, what] of cases) {
    test(`${H}x${W} shift ${shift} (${what}): output and gradients of x, qkv, proj and the table`, () => {
      check(`block_${H}x${W}_s${shift}`, ({ x, ...p }) => blockAttention(x, H, W, p, shift), [1e-10, 1e-8], [1e-9, 1e-7]);
    });
  }
});

describe('stageWindow (the official rule: shift only when the resolution exceeds the window)', () => {
  test('Swin-T at 224: stages 1-3 keep window 7 and shift 3, stage 4 (7x7) does not shift', () => {
    expect(S.stageWindow(56, 56, 7, 3)).toEqual({ windowSize: 7, shiftSize: 3 });
    expect(S.stageWindow(14, 14, 7, 3)).toEqual({ windowSize: 7, shiftSize: 3 });
    expect(S.stageWindow(7, 7, 7, 3)).toEqual({ windowSize: 7, shiftSize: 0 });
    expect(S.stageWindow(4, 6, 7, 3)).toEqual({ windowSize: 4, shiftSize: 0 });
  });
});

describe('errors', () => {
  test('bad shapes say what was expected and what was got', () =>
    tn.tidy(() => {
      expectThrows(() => S.windowPartition(tn.zeros([1, 15, 14, 3]), 7), 'Error',
        /^windowPartition: expected x of shape \(B, H, W, C\) with H and W multiples of windowSize 7, but got \[1, 15, 14, 3\]/);
      expectThrows(() => S.rollAndWindowPartition(tn.zeros([15, 14, 3]), 7, 3), 'Error',
        /^rollAndWindowPartition: expected x of shape \(B, H, W, C\) .* but got \[15, 14, 3\]/);
      expectThrows(() => S.windowMergeAndRoll(tn.zeros([5, 49, 3]), 7, 14, 14, 3), 'Error',
        /^windowMergeAndRoll: expected windows of shape \(B\*nW, 49, C\) or \(B\*nW, 7, 7, C\) with nW = 4 .* but got \[5, 49, 3\]/);
      expectThrows(() => S.windowReverse(tn.zeros([4, 49, 3]), 7, 14, 15), 'Error', /^windowReverse: expected H and W multiples of windowSize 7, but got H 14 and W 15/);
      expectThrows(() => S.shiftedWindowMask(14, 14, 7, 7), 'RangeError', /shiftedWindowMask: shift: expected an integer in \[0, 6\], but got number 7/);
      expectThrows(() => S.shiftedWindowMask(15, 14, 7, 3), 'Error', /shiftedWindowMask: expected H and W positive multiples of windowSize 7/);
      expectThrows(() => S.shiftedWindowMask(14, 14, 7, 3, { fill: 'x' as never }), 'TypeError', /fill: expected a number or '-inf'/);
      expectThrows(() => S.windowPartition(tn.zeros([1, 14, 14, 3]), 0), 'RangeError', /windowPartition: windowSize: expected an integer >= 1/);
      expectThrows(() => S.padToWindow(tn.zeros([14, 14, 3]), 7), 'RangeError', /padToWindow: expected x of shape \(B, H, W, C\), but got shape \[14, 14, 3\]/);
      const q = tn.zeros([8, 2, 49, 4]);
      const index = S.relativePositionIndex(7);
      expectThrows(() => S.windowAttention(q, q, q, tn.zeros([169, 3]), index), 'Error',
        /^windowAttention: expected relativePositionBiasTable of shape \(\(2\*Wh-1\)\*\(2\*Ww-1\), nH\) with nH = 2/);
      expectThrows(() => S.windowAttention(q, q, q, tn.zeros([100, 2]), index), 'Error',
        /^windowAttention: expected relativePositionIndex entries in \[0, 100\)/);
      expectThrows(() => S.windowAttention(q, q, q, tn.zeros([169, 2]), index, { mask: tn.zeros([3, 49, 49]) }), 'Error',
        /^windowAttention: expected mask of shape \(nW, 49, 49\) with nW dividing B\*nW = 8, but got \[3, 49, 49\]/);
      expectThrows(() => S.windowAttention(q, tn.zeros([8, 2, 49, 5]), q, tn.zeros([169, 2]), index), 'Error',
        /^windowAttention: expected k of the shape of q \[8, 2, 49, 4\], but got \[8, 2, 49, 5\]/);
      expectThrows(() => S.windowAttention(q, q, q, tn.zeros([169, 2]), index, { scael: 1 } as never), 'TypeError', /windowAttention: options/);
    }));
});
