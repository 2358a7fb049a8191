/**
 * Swin modules (tn.swin.SwinTransformerBlock ... SwinTransformer) against a PyTorch model with
 * the official module tree and op order, test/reference/swin_model_ref.py, run by
 * test/reference/make_swin_model_fixtures.py (float64 checkpoints with the official
 * state_dict keys, inputs, outputs, and gradients of sum(out * gout) for the input and every
 * parameter): a shifted and an unshifted block, the stage rule (4x4 with window 7), and a
 * small full model (56², patch 4, embed 24, depths [2, 2], heads [1, 2], window 7: stage 2 is
 * 7x7 and does not shift), in float64 and float32.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

const all = tn.loadSafetensors(fixturePath('swin_model'));
afterAll(() => tn.dispose(Object.values(all)));

interface Case {
  sd: Record<string, Tensor>;
  x: Tensor;
  out: Tensor;
  gout: Tensor;
  grads: Record<string, Tensor>;
}

function getCase(name: string): Case {
  const c: Case = { sd: {}, x: all[`${name}.x`], out: all[`${name}.out`], gout: all[`${name}.gout`], grads: {} };
  if (!c.x) throw new Error(`fixture case ${name} is missing; run npm run fixtures:swin-model`);
  for (const [k, t] of Object.entries(all)) {
    if (k.startsWith(`${name}.sd.`)) c.sd[k.slice(name.length + 4)] = t;
    else if (k.startsWith(`${name}.grad.`)) c.grads[k.slice(name.length + 6)] = t;
  }
  return c;
}

const blockOpts = { dim: 16, numHeads: 2 };
const blocks: Record<string, () => tn.nn.Module> = {
  block_s0: () => new tn.swin.SwinTransformerBlock({ ...blockOpts, inputResolution: [8, 8], windowSize: 4, shiftSize: 0 }),
  block_s2: () => new tn.swin.SwinTransformerBlock({ ...blockOpts, inputResolution: [8, 8], windowSize: 4, shiftSize: 2 }),
  block_rule: () => new tn.swin.SwinTransformerBlock({ ...blockOpts, inputResolution: [4, 4], windowSize: 7, shiftSize: 3 }),
  model: () => new tn.swin.SwinTransformer({ imgSize: 56, patchSize: 4, inChans: 3, numClasses: 10, embedDim: 24, depths: [2, 2], numHeads: [1, 2], windowSize: 7, dropPathRate: 0 }),
};

/** Loads the checkpoint strictly, runs forward + backward, compares output and gradients. */
function checkCase(name: string, dtype: 'float64' | 'float32', tol: [number, number], gradTol: [number, number]): void {
  const c = getCase(name);
  const m = blocks[name]().to(dtype);
  try {
    m.loadStateDict(c.sd, { strict: true });
    tn.tidy(() => {
      const x = c.x.detach().to(dtype).clone().requiresGrad_();
      const out = m.forward(x) as Tensor;
      expectClose(out, c.out.to(dtype), tol[0], tol[1], { what: `${name} ${dtype} out` });
      out.mul(c.gout.to(dtype)).sum().backward();
      expectClose(x.grad!, c.grads.x.to(dtype), gradTol[0], gradTol[1], { what: `${name} ${dtype} d/dx` });
      const params = Object.fromEntries(m.namedParameters());
      for (const [k, g] of Object.entries(c.grads)) {
        if (k === 'x') continue;
        const p = params[k];
        if (!p) throw new Error(`${name}: no parameter ${k}`);
        expectClose(p.grad!, g.to(dtype), gradTol[0], gradTol[1], { what: `${name} ${dtype} d/d${k}` });
      }
      expect(Object.keys(c.grads).length - 1).toBe(Object.keys(params).length);
    });
  } finally {
    m.dispose();
  }
}

describe('SwinTransformerBlock', () => {
  for (const name of ['block_s0', 'block_s2', 'block_rule']) {
    test(`${name}: official checkpoint loads strictly; output and every gradient match in float64`, () => checkCase(name, 'float64', [1e-10, 1e-8], [1e-9, 1e-7]));
    test(`${name}: float32 within tolerance`, () => checkCase(name, 'float32', [1e-4, 1e-4], [1e-3, 1e-3]));
  }

  test('the stage rule: resolution <= window means window = min(H, W), shift 0, no attn_mask', () => {
    const b = new tn.swin.SwinTransformerBlock({ dim: 16, numHeads: 2, inputResolution: [4, 4], windowSize: 7, shiftSize: 3 });
    expect([b.windowSize, b.shiftSize]).toEqual([4, 0]);
    expect(b.attn_mask).toBeNull();
    expect((b.attn as tn.swin.WindowAttention).relative_position_bias_table.shape).toEqual([49, 2]);
    const s = new tn.swin.SwinTransformerBlock({ dim: 16, numHeads: 2, inputResolution: [8, 8], windowSize: 4, shiftSize: 2 });
    expect([s.windowSize, s.shiftSize]).toEqual([4, 2]);
    expect(s.attn_mask!.shape).toEqual([4, 16, 16]);
    expect(Object.keys(tn.tidy(() => s.stateDict()))[0]).toBe('attn_mask');
    b.dispose();
    s.dispose();
  });

  test('bad shapes and options give clear errors', () => {
    const b = new tn.swin.SwinTransformerBlock({ dim: 16, numHeads: 2, inputResolution: [8, 8], windowSize: 4, shiftSize: 2 });
    tn.tidy(() => {
      expectThrows(() => b.forward(tn.zeros([2, 63, 16])), 'RangeError', /SwinTransformerBlock: expected x of shape \(B, 64, 16\) \(input resolution 8x8\), but got shape \[2, 63, 16\]/);
      expectThrows(() => b.forward(tn.zeros([2, 8, 8, 16])), 'RangeError', /expected x of shape \(B, 64, 16\)/);
      expectThrows(() => b.attn.forward(tn.zeros([8, 15, 16])), 'RangeError', /WindowAttention: expected windows of shape \(B\*nW, 16, 16\)/);
    });
    expectThrows(() => new tn.swin.SwinTransformerBlock({ dim: 16, numHeads: 3, inputResolution: 8, windowSize: 4 }), 'RangeError', /dim \(16\) must be divisible by numHeads \(3\)/);
    expectThrows(() => new tn.swin.SwinTransformerBlock({ dim: 16, numHeads: 2, inputResolution: 8, windowSize: 4, shiftSize: 4 }), 'RangeError', /shiftSize must be in \[0, windowSize\)/);
    b.dispose();
  });

  test('attnDrop in training takes the materialised path: with p ~ 0 it equals the fused kernel, mask and gradients included', () =>
    tn.tidy(() => {
      tn.manualSeed(3);
      const o = { dim: 16, windowSize: 4, numHeads: 2 };
      const fused = new tn.swin.WindowAttention(o).to('float64');
      const math = new tn.swin.WindowAttention({ ...o, attnDrop: 1e-15 }).to('float64');
      math.loadStateDict(tn.tidy(() => fused.stateDict()));
      const mask = tn.swin.shiftedWindowMask(8, 8, 4, 2, { dtype: 'float64' });
      const x = tn.randn([8, 16, 16], { dtype: 'float64' });
      const [xa, xb] = [x.clone().requiresGrad_(), x.clone().requiresGrad_()];
      const a = fused.forward(xa, mask);
      const b = math.forward(xb, mask);
      expectClose(b, a, 1e-12, 1e-10);
      a.sum().backward();
      b.sum().backward();
      expectClose(xb.grad!, xa.grad!, 1e-12, 1e-10);
      expectClose(math.relative_position_bias_table.grad!, fused.relative_position_bias_table.grad!, 1e-12, 1e-10);
      fused.dispose();
      math.dispose();
    }));

  test('DropPath: per sample, zero or scaled by 1 / (1 - p) in training; identity in eval', () =>
    tn.tidy(() => {
      tn.manualSeed(0);
      const d = new tn.swin.DropPath(0.5);
      const x = tn.ones([64, 3, 2]);
      const y = d.forward(x);
      const perSample = y.reshape([64, 6]);
      const first = perSample.select(1, 0);
      expectClose(perSample, first.unsqueeze(1).expand([64, 6]), 0, 0);
      const vals = first.toArray() as number[];
      expect(vals.every((v) => v === 0 || v === 2)).toBe(true);
      expect(vals.some((v) => v === 0) && vals.some((v) => v === 2)).toBe(true);
      d.eval();
      expect(d.forward(x)).toBe(x);
      expectThrows(() => new tn.swin.DropPath(1), 'RangeError', /DropPath: p: expected a rate in \[0, 1\)/);
    }));

  test('a resolution that is not a multiple of the window is padded and cropped (detection variant)', () =>
    tn.tidy(() => {
      const b = new tn.swin.SwinTransformerBlock({ dim: 8, numHeads: 2, inputResolution: [10, 9], windowSize: 4, shiftSize: 2 });
      const y = b.forward(tn.randn([2, 90, 8]));
      expect(y.shape).toEqual([2, 90, 8]);
      expect(b.attn_mask!.shape).toEqual([9, 16, 16]);
      b.dispose();
    }));
});

describe('SwinTransformer', () => {
  test('small model: official checkpoint loads strictly; logits and every gradient match in float64', () => checkCase('model', 'float64', [1e-10, 1e-8], [1e-9, 1e-7]));
  test('small model: float32 within tolerance', () => checkCase('model', 'float32', [1e-4, 1e-4], [1e-3, 1e-3]));

  test('stateDict() keys equal the official ones exactly, in order; stage 2 at 7x7 does not shift', () => {
    const c = getCase('model');
    const m = blocks.model() as tn.swin.SwinTransformer;
    const keys = Object.keys(tn.tidy(() => m.stateDict()));
    expect(keys).toEqual(Object.keys(c.sd));
    expect(keys).toContain('layers.0.blocks.1.attn_mask');
    expect(keys).not.toContain('layers.1.blocks.1.attn_mask');
    expect(keys).toContain('layers.0.downsample.reduction.weight');
    expect(keys).not.toContain('layers.1.downsample.reduction.weight');
    const l1 = m.layers.at(1).blocks.at(1);
    expect([l1.windowSize, l1.shiftSize]).toEqual([7, 0]);
    const l0 = m.layers.at(0).blocks.at(1);
    expect([l0.windowSize, l0.shiftSize]).toEqual([7, 3]);
    m.dispose();
  });

  test('timm-style checkpoints: buffers absent, head.fc.*, downsample at the start of the next stage', () => {
    const c = getCase('model');
    const timm: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(c.sd)) {
      if (/relative_position_index|attn_mask/.test(k)) continue;
      const d = /^layers\.(\d+)\.downsample\.(.*)$/.exec(k);
      timm[d ? `layers.${Number(d[1]) + 1}.downsample.${d[2]}` : k.replace(/^head\./, 'head.fc.')] = t;
    }
    const m = (blocks.model() as tn.swin.SwinTransformer).to('float64');
    const r = m.loadStateDict(timm);
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
    tn.tidy(() => expectClose(tn.noGrad(() => m.forward(c.x)), c.out, 1e-10, 1e-8));
    expectThrows(() => m.loadStateDict(timm, { allowMissingBuffers: false }), 'Error', /Missing key\(s\) in state_dict: "layers.0.blocks.0.attn.relative_position_index"/);
    m.dispose();
  });

  test('eval: forward is deterministic with dropout and drop path; training drop path changes it', () =>
    tn.tidy(() => {
      tn.manualSeed(0);
      const m = new tn.swin.SwinTransformer({ imgSize: 32, patchSize: 4, numClasses: 5, embedDim: 16, depths: [2, 2], numHeads: [2, 4], windowSize: 4, dropRate: 0.1, attnDropRate: 0.1, dropPathRate: 0.5 });
      const x = tn.randn([3, 3, 32, 32]);
      m.eval();
      const a = tn.noGrad(() => m.forward(x));
      expectClose(tn.noGrad(() => m.forward(x)), a, 0, 0);
      expect(a.shape).toEqual([3, 5]);
      m.train();
      const b = m.forward(x);
      expect(b.sub(a).abs().max().item()).toBeGreaterThan(1e-6);
      b.sum().backward();
      expect((m.layers.at(0).blocks.at(0).attn as tn.swin.WindowAttention).relative_position_bias_table.grad).not.toBeNull();
      expect(tn.noGrad(() => m.forwardFeatures(x)).shape).toEqual([3, 32]);
      m.dispose();
    }));

  test('presets and bad inputs', () => {
    const t = tn.swin.swinT({ numClasses: 0 });
    expect(t.numFeatures).toBe(768);
    expect(t.head).toBeNull();
    const n = t.parameters().reduce((s, p) => s + p.numel(), 0);
    expect(n).toBe(27519354); // Swin-T without its 769,000-parameter head: 28,288,354 − 769,000
    expect(Object.keys(tn.tidy(() => t.stateDict())).filter((k) => k.endsWith('attn_mask'))).toEqual([
      'layers.0.blocks.1.attn_mask', 'layers.1.blocks.1.attn_mask', 'layers.2.blocks.1.attn_mask', 'layers.2.blocks.3.attn_mask', 'layers.2.blocks.5.attn_mask',
    ]);
    tn.tidy(() => {
      expectThrows(() => t.forward(tn.zeros([1, 3, 64, 64])), 'RangeError', /PatchEmbed: expected images of shape \(B, 3, 224, 224\), but got shape \[1, 3, 64, 64\]/);
      expectThrows(() => t.forward(tn.zeros([3, 224, 224])), 'RangeError', /PatchEmbed: expected images of shape/);
    });
    t.dispose();
    expectThrows(() => new tn.swin.SwinTransformer({ depths: [2, 2], numHeads: [3] }), 'TypeError', /numHeads/);
    const s = tn.swin.swinS();
    expect(s.layers.at(2).depth).toBe(18);
    s.dispose();
    const b = tn.swin.swinB({ numClasses: 10 });
    expect(b.numFeatures).toBe(1024);
    b.dispose();
  });
});
