/**
 * nn layers against torch.nn (test/reference/make_nn_fixtures.py): each case loads a torch
 * state dict (float64, randomised parameters) into the TypeScript module, and compares the
 * state-dict keys, the output, and the gradients of the inputs and of every parameter.
 * Then initialisation, training/eval behaviour and errors.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath, flat } from './helpers';

const nn = tn.nn;

interface LayerCase {
  name: string;
  layer: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  options: Record<string, any>;
}

/** A net with a ModuleList, as ListNet in the fixture script. */
class ListNet extends nn.Module {
  declare layers: tn.nn.ModuleList<tn.nn.Linear>;
  constructor() {
    super();
    this.registerModule('layers', new nn.ModuleList([new nn.Linear(4, 5, { dtype: 'float64' }), new nn.Linear(5, 3, { dtype: 'float64' })]));
  }
  forward(x: Tensor): Tensor {
    return tn.tidy(() => {
      this.layers.at(0);
      let i = 0;
      for (const l of this.layers) {
        x = l.forward(x);
        if (++i < this.layers.length) x = x.tanh();
      }
      return x;
    });
  }
}

/** The TypeScript module for a fixture case (torch's arguments in camelCase). */
function build(c: LayerCase, sd: Record<string, Tensor>): tn.nn.Module {
  const o = c.options;
  const f64 = { dtype: 'float64' as const };
  switch (c.layer) {
    case 'LayerNorm':
      return new nn.LayerNorm(o.normalized_shape, { eps: o.eps, elementwiseAffine: o.elementwise_affine, ...f64 });
    case 'RMSNorm':
      return new nn.RMSNorm(o.normalized_shape, { eps: o.eps, ...f64 });
    case 'Embedding':
      return new nn.Embedding(o.num_embeddings, o.embedding_dim, { paddingIdx: o.padding_idx, ...f64 });
    case 'GELU':
      return new nn.GELU({ approximate: o.approximate });
    case 'SiLU':
      return new nn.SiLU();
    case 'ReLU':
      return new nn.ReLU();
    case 'Dropout':
      return new nn.Dropout({ p: o.p }).eval();
    case 'Sequential':
      return new nn.Sequential(new nn.Linear(4, 8, f64), new nn.GELU(), new nn.LayerNorm([8], f64), new nn.Linear(8, 3, { bias: false, ...f64 }));
    case 'ModuleList':
      return new ListNet();
    case 'Conv2d':
      return new nn.Conv2d(o.in_channels, o.out_channels, o.kernel_size, {
        stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups, bias: o.bias, ...f64,
      });
    case 'CrossEntropyLoss':
      return new nn.CrossEntropyLoss({
        ignoreIndex: o.ignore_index, labelSmoothing: o.label_smoothing, reduction: o.reduction, weight: o.weight ? tn.zerosLike(sd.weight) : undefined,
      });
    case 'MSELoss':
      return new nn.MSELoss({ reduction: o.reduction });
    case 'TransformerEncoderLayer':
    case 'TransformerDecoderLayer': {
      const opts = {
        dModel: o.d_model, nhead: o.nhead, dimFeedforward: o.dim_feedforward, dropout: o.dropout, activation: o.activation,
        layerNormEps: o.layer_norm_eps, batchFirst: o.batch_first, normFirst: o.norm_first, ...f64,
      };
      return c.layer === 'TransformerEncoderLayer' ? new nn.TransformerEncoderLayer(opts) : new nn.TransformerDecoderLayer(opts);
    }
    case 'TransformerEncoder': {
      const layer = new nn.TransformerEncoderLayer({ dModel: o.d_model, nhead: o.nhead, dimFeedforward: o.dim_feedforward, dropout: o.dropout, batchFirst: o.batch_first, normFirst: o.norm_first, ...f64 });
      return new nn.TransformerEncoder(layer, o.num_layers, { norm: new nn.LayerNorm([o.d_model], f64) });
    }
    case 'Transformer':
      return new nn.Transformer({
        dModel: o.d_model, nhead: o.nhead, numEncoderLayers: o.num_encoder_layers, numDecoderLayers: o.num_decoder_layers, dimFeedforward: o.dim_feedforward, dropout: o.dropout, ...f64,
      });
    default:
      throw new Error(`no TypeScript module for ${c.layer}`);
  }
}

/** Runs a module on the fixture inputs (by name for the layers whose forward takes options). */
function call(m: tn.nn.Module, x: Record<string, Tensor>): Tensor {
  if (m instanceof nn.TransformerEncoderLayer) return m.forward(x.src, { srcMask: x.src_mask, srcKeyPaddingMask: x.src_key_padding_mask });
  if (m instanceof nn.TransformerDecoderLayer)
    return m.forward(x.tgt, x.memory, { tgtMask: x.tgt_mask, memoryMask: x.memory_mask, tgtKeyPaddingMask: x.tgt_key_padding_mask, memoryKeyPaddingMask: x.memory_key_padding_mask });
  if (m instanceof nn.TransformerEncoder) return m.forward(x.src, { srcMask: x.mask, srcKeyPaddingMask: x.src_key_padding_mask });
  if (m instanceof nn.Transformer) return m.forward(x.src, x.tgt, { srcMask: x.src_mask, tgtMask: x.tgt_mask });
  return m.forward(...Object.values(x));
}

describe('nn layers against torch.nn', () => {
  const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('nn_layers'));
  const cases: LayerCase[] = JSON.parse(metadata!.cases);

  test.each(cases.map((c) => [c.name, c] as const))('%s: state-dict keys, output, input and parameter gradients', (_n, c) => {
    tn.tidy(() => {
      const pick = (kind: string): Record<string, Tensor> => {
        const out: Record<string, Tensor> = {};
        const p = `${c.name}.${kind}.`;
        for (const [k, t] of Object.entries(F)) if (k.startsWith(p)) out[k.slice(p.length)] = t;
        return out;
      };
      const sd = pick('sd');
      const m = build(c, sd);
      try {
        expect(Object.keys(tn.tidy(() => m.stateDict()))).toEqual(Object.keys(sd));
        m.loadStateDict(sd);
        const inputs = pick('in');
        const leaves = Object.fromEntries(
          Object.entries(inputs).map(([k, t]) => [k, t.dtype === 'float64' && `${c.name}.grad.${k}` in F ? t.clone().requiresGrad_(true) : t]),
        );
        const out = call(m, leaves);
        expectClose(out, F[`${c.name}.out`], 1e-12, 1e-10, { what: 'output' });
        out.mul(F[`${c.name}.gout`]).sum().backward();
        for (const [k, t] of Object.entries(pick('grad'))) expectClose(leaves[k].grad!, t, 1e-12, 1e-10, { what: `grad of ${k}` });
        const params = Object.fromEntries(m.namedParameters());
        const pgrads = pick('pgrad');
        expect(Object.keys(params).sort()).toEqual(Object.keys(pgrads).sort());
        for (const [k, t] of Object.entries(pgrads)) expectClose(params[k].grad!, t, 1e-12, 1e-10, { what: `grad of parameter ${k}` });
      } finally {
        m.dispose();
      }
    });
  });
});

describe('initialisation and behaviour', () => {
  test('LayerNorm and RMSNorm: ones/zeros, no affine, defaults', () => {
    tn.tidy(() => {
      const ln = new nn.LayerNorm(8);
      expect(Object.keys(ln.stateDict({ keepVars: true }))).toEqual(['weight', 'bias']);
      expect(flat(ln.weight!).every((v) => v === 1)).toBe(true);
      expect(flat(ln.bias!).every((v) => v === 0)).toBe(true);
      expect(ln.toString()).toBe('LayerNorm((8,), eps=0.00001, elementwise_affine=true)');
      const y = ln.forward(tn.randn([4, 8]).mul(3).add(2));
      expectClose(y.mean(-1), tn.zeros([4]), 1e-6, 0);
      const nb = new nn.LayerNorm([8], { bias: false });
      expect(Object.keys(nb.stateDict({ keepVars: true }))).toEqual(['weight']);
      const rms = new nn.RMSNorm([8]);
      expect(Object.keys(rms.stateDict({ keepVars: true }))).toEqual(['weight']);
      const x = tn.randn([3, 8]);
      const r = rms.forward(x);
      expectClose(r.pow(2).mean(-1), tn.ones([3]), 1e-5, 1e-5);
      expect(Object.keys(new nn.RMSNorm(8, { elementwiseAffine: false }).stateDict())).toEqual([]);
      expectThrows(() => rms.forward(tn.randn([3, 7])), 'RangeError', /RMSNorm.forward: expected an input of shape \(\*, 8\), but got \(3, 7\)/);
      expectThrows(() => new nn.LayerNorm([]), 'TypeError', /LayerNorm: normalizedShape: expected a positive integer/);
      ln.dispose();
      nb.dispose();
      rms.dispose();
    });
  });

  test('Embedding: N(0, 1), padding row zero and without gradient, negative paddingIdx', () => {
    tn.tidy(() => {
      const e = new nn.Embedding(50, 16, { paddingIdx: -1 });
      expect(e.paddingIdx).toBe(49);
      expect(flat(e.weight.select(0, 49)).every((v) => v === 0)).toBe(true);
      const s = e.weight.std().item() as number;
      expect(s).toBeGreaterThan(0.8);
      expect(s).toBeLessThan(1.2);
      const idx = tn.tensor([[49, 3, 49], [1, 49, 3]], { dtype: 'int64' });
      const y = e.forward(idx);
      expect(y.shape).toEqual([2, 3, 16]);
      y.sum().backward();
      const g = e.weight.grad!;
      expect(flat(g.select(0, 49)).every((v) => v === 0)).toBe(true);
      expect(flat(g.select(0, 3)).every((v) => v === 2)).toBe(true);
      expect(e.toString()).toBe('Embedding(50, 16, padding_idx=49)');
      expectThrows(() => new nn.Embedding(5, 2, { paddingIdx: 5 }), 'RangeError', /Embedding: paddingIdx: expected an integer in \[-5, 4\]/);
      e.dispose();
    });
  });

  test('Dropout: scaled in training, identity in eval, p checked', () => {
    tn.tidy(() => {
      tn.manualSeed(1);
      const d = new nn.Dropout({ p: 0.25 });
      const x = tn.ones([10000]);
      const y = flat(d.forward(x));
      const zeros = y.filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThan(2200);
      expect(zeros).toBeLessThan(2800);
      expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
      d.eval();
      expect(flat(d.forward(x)).every((v) => v === 1)).toBe(true);
      expect(new nn.Dropout(0.1).p).toBe(0.1);
      expect(new nn.Dropout().p).toBe(0.5);
      expectThrows(() => new nn.Dropout({ p: 1.5 }), 'RangeError', /Dropout: p: expected a probability in \[0, 1\], but got 1.5/);
      expectThrows(() => new nn.GELU({ approximate: 'fast' as never }), 'TypeError', /GELU: approximate: expected 'none' or 'tanh'/);
    });
  });

  test('Sequential and ModuleList: keys, indexing, iteration, printing', () => {
    tn.tidy(() => {
      const s = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
      expect(Object.keys(s.stateDict({ keepVars: true }))).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
      expect(s.length).toBe(3);
      expect(s.at(-1)).toBeInstanceOf(nn.Linear);
      expect([...s].length).toBe(3);
      s.append(new nn.SiLU());
      expect(s.length).toBe(4);
      expect(s.forward(tn.randn([5, 4])).shape).toEqual([5, 2]);
      expect(s.toString()).toBe(
        'Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=true)\n  (1): ReLU()\n  (2): Linear(in_features=8, out_features=2, bias=true)\n  (3): SiLU()\n)',
      );
      const l = new nn.ModuleList([new nn.Linear(2, 2)]);
      l.append(new nn.Linear(2, 3)).extend([new nn.Linear(3, 1)]);
      expect(l.length).toBe(3);
      expect(Object.keys(l.stateDict({ keepVars: true }))).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
      expect(l.at(1).outFeatures).toBe(3);
      expectThrows(() => l.at(3), 'RangeError', /ModuleList.at: index 3 is out of range for 3 modules/);
      expectThrows(() => l.forward(), 'Error', /ModuleList has no forward/);
      expectThrows(() => new nn.Sequential({} as never), 'TypeError', /Sequential: module 0: expected a Module/);
      s.dispose();
      l.dispose();
    });
  });

  test('Conv2d: PyTorch initialisation bounds, shapes, errors', () => {
    tn.tidy(() => {
      const c = new nn.Conv2d(4, 8, 3, { padding: 1, groups: 2 });
      expect(c.weight.shape).toEqual([8, 2, 3, 3]);
      const bound = 1 / Math.sqrt(2 * 9);
      expect(c.weight.abs().max().item() as number).toBeLessThanOrEqual(bound);
      expect(c.weight.abs().max().item() as number).toBeGreaterThan(bound * 0.8);
      expect(c.bias!.abs().max().item() as number).toBeLessThanOrEqual(bound);
      expect(c.forward(tn.randn([2, 4, 10, 10])).shape).toEqual([2, 8, 10, 10]);
      expect(c.toString()).toBe('Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2)');
      expectThrows(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), 'RangeError', /Conv2d: inChannels \(3\) must be divisible by groups \(2\)/);
      expectThrows(() => new nn.Conv2d(4, 8, [3, 3, 3] as never), 'TypeError', /Conv2d: kernelSize: expected an integer >= 1 or two of them/);
      c.dispose();
    });
  });

  test('Transformer layers: isCausal equals a causal mask; dropout only in training; option errors', () => {
    tn.tidy(() => {
      tn.manualSeed(3);
      const enc = new nn.TransformerEncoderLayer({ dModel: 16, nhead: 4, dimFeedforward: 32, batchFirst: true, normFirst: true, dropout: 0.2 });
      const dec = new nn.TransformerDecoderLayer({ dModel: 16, nhead: 4, dimFeedforward: 32, batchFirst: true, dropout: 0.2, activation: 'gelu' });
      enc.eval();
      dec.eval();
      const x = tn.randn([2, 6, 16]);
      const mem = tn.randn([2, 5, 16]);
      const causal = tn.ones([6, 6], { dtype: 'bool' }).triu(1); // true = not allowed (PyTorch's MHA convention)
      expectClose(enc.forward(x, { isCausal: true }), enc.forward(x, { srcMask: causal }), 1e-6, 1e-5);
      expectClose(dec.forward(x, mem, { tgtIsCausal: true }), dec.forward(x, mem, { tgtMask: causal }), 1e-6, 1e-5);
      expectClose(enc.forward(x), enc.forward(x), 0, 0); // eval: deterministic
      enc.train();
      expect(flat(enc.forward(x).sub(enc.forward(x)).abs().max())[0]).toBeGreaterThan(0);
      expect(enc.forward(x).shape).toEqual([2, 6, 16]);
      expect(dec.forward(x, mem).shape).toEqual([2, 6, 16]);
      expect(Object.keys(dec.stateDict({ keepVars: true }))).toEqual([
        'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
        'multihead_attn.in_proj_weight', 'multihead_attn.in_proj_bias', 'multihead_attn.out_proj.weight', 'multihead_attn.out_proj.bias',
        'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias', 'norm3.weight', 'norm3.bias',
      ]);
      expectThrows(() => new nn.TransformerEncoderLayer({ dModel: 16, nhead: 4, activation: 'tanh' as never }), 'TypeError', /TransformerEncoderLayer: activation: expected 'relu' or 'gelu'/);
      expectThrows(() => new nn.TransformerDecoderLayer({ dModel: 16, nhead: 4, dropout: 2 }), 'RangeError', /TransformerDecoderLayer: dropout: expected a probability in \[0, 1\]/);
      enc.dispose();
      dec.dispose();
    });
  });

  test('TransformerEncoder layers start identical (as deep copies); Transformer: keys, Xavier init, shapes', () => {
    tn.tidy(() => {
      const layer = new nn.TransformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16 });
      const stack = new nn.TransformerEncoder(layer, 3);
      expect(stack.layers.at(0)).toBe(layer);
      expectClose(stack.layers.at(2).linear1.weight, layer.linear1.weight, 0, 0);
      expect(stack.layers.at(2).linear1.weight).not.toBe(layer.linear1.weight);
      expect(stack.norm).toBeNull();
      const t = new nn.Transformer({ dModel: 16, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 32, batchFirst: true });
      const keys = Object.keys(t.stateDict({ keepVars: true }));
      expect(keys.length).toBe(2 * 12 + 2 + 18 + 2);
      expect(keys.slice(0, 2)).toEqual(['encoder.layers.0.self_attn.in_proj_weight', 'encoder.layers.0.self_attn.in_proj_bias']);
      expect(keys).toContain('encoder.norm.weight');
      expect(keys[keys.length - 1]).toBe('decoder.norm.bias');
      const w = t.encoder.layers.at(0).linear1.weight; // (32, 16): bound √(6 / 48)
      expect(w.abs().max().item() as number).toBeLessThanOrEqual(Math.sqrt(6 / 48));
      expect(w.abs().max().item() as number).toBeGreaterThan(Math.sqrt(6 / 48) * 0.8);
      expect(t.forward(tn.randn([2, 7, 16]), tn.randn([2, 5, 16]), { tgtIsCausal: true }).shape).toEqual([2, 5, 16]);
      stack.dispose();
      t.dispose();
    });
  });

  test('loadStateDict with strict: missing, unexpected and mis-shaped keys', () => {
    tn.tidy(() => {
      const ln = new nn.LayerNorm(4);
      const e = expectThrows(() => ln.loadStateDict({ weight: tn.ones([4]), extra: tn.ones([1]) }), 'Error');
      expect(e.message).toBe('Error(s) in loading state_dict for LayerNorm:\n\tMissing key(s) in state_dict: "bias".\n\tUnexpected key(s) in state_dict: "extra".');
      const e2 = expectThrows(() => ln.loadStateDict({ weight: tn.ones([5]), bias: tn.zeros([4]) }), 'Error');
      expect(e2.message).toMatch(/size mismatch for weight: copying a param with shape \[5\] from checkpoint, the shape in current model is \[4\]/);
      expect(ln.loadStateDict({ weight: tn.full([4], 2) }, { strict: false })).toEqual({ missingKeys: ['bias'], unexpectedKeys: [] });
      expect(flat(ln.weight!)).toEqual([2, 2, 2, 2]);
      const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Embedding(3, 2));
      const e3 = expectThrows(() => seq.loadStateDict({ '0.weight': tn.ones([2, 2]), '0.bias': tn.ones([2]), weight: tn.ones([3, 2]) }), 'Error');
      expect(e3.message).toBe('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "1.weight".\n\tUnexpected key(s) in state_dict: "weight".');
      ln.dispose();
      seq.dispose();
    });
  });
});

describe('FeedForward', () => {
  test('plain and gated forms: keys, formula, gradients', () => {
    tn.tidy(() => {
      const x = tn.randn([2, 3, 8], { dtype: 'float64' });
      const plain = new nn.FeedForward({ dModel: 8, dimFeedforward: 16, activation: 'gelu-tanh', dtype: 'float64' });
      expect(Object.keys(plain.stateDict({ keepVars: true }))).toEqual(['linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias']);
      const l = plain as unknown as Record<string, tn.nn.Linear>;
      expectClose(plain.forward(x), l.linear2.forward(l.linear1.forward(x).gelu('tanh')), 1e-12, 1e-10);
      const swiglu = new nn.FeedForward({ dModel: 8, dimFeedforward: 12, activation: 'swiglu', dtype: 'float64' });
      expect(Object.keys(swiglu.stateDict({ keepVars: true }))).toEqual(['w1.weight', 'w2.weight', 'w3.weight']);
      const w = swiglu as unknown as Record<string, tn.nn.Linear>;
      const y = swiglu.forward(x);
      expectClose(y, w.w2.forward(w.w1.forward(x).silu().mul(w.w3.forward(x))), 1e-12, 1e-10);
      y.sum().backward();
      expect(w.w3.weight.grad!.shape).toEqual([12, 8]);
      expect(new nn.FeedForward({ dModel: 4 }).dimFeedforward).toBe(16);
      expectThrows(() => new nn.FeedForward({ dModel: 4, activation: 'tanh' as never }), 'TypeError', /FeedForward: activation: expected 'relu', 'gelu'/);
      plain.dispose();
      swiglu.dispose();
    });
  });
});

describe('positional encodings', () => {
  const P = tn.loadSafetensors(fixturePath('nn_layers'));

  test('SinusoidalPositionalEncoding: the PyTorch tutorial table, offsets, no state-dict keys', () => {
    tn.tidy(() => {
      const pos = new nn.SinusoidalPositionalEncoding({ dModel: 8, maxLen: 20, dtype: 'float64' });
      expectClose(pos.pe, P['pos.sinusoidal.pe'], 1e-12, 1e-10);
      expect(Object.keys(pos.stateDict())).toEqual([]);
      const x = tn.randn([2, 5, 8], { dtype: 'float64' });
      expectClose(pos.forward(x, { offset: 4 }), x.add(P['pos.sinusoidal.pe'].narrow(0, 4, 5)), 1e-12, 1e-10);
      expectThrows(() => pos.forward(x, { offset: 16 }), 'RangeError', /positions 16..20 exceed maxLen 20/);
      expectThrows(() => new nn.SinusoidalPositionalEncoding({ dModel: 7 }), 'RangeError', /dModel must be even/);
      pos.dispose();
    });
  });

  test('LearnedPositionalEmbedding: weight, std, offsets, gradient', () => {
    tn.tidy(() => {
      const pos = new nn.LearnedPositionalEmbedding(64, 16);
      expect(Object.keys(pos.stateDict({ keepVars: true }))).toEqual(['weight']);
      const std = pos.weight.std().item() as number;
      expect(std).toBeGreaterThan(0.015);
      expect(std).toBeLessThan(0.025);
      const x = tn.zeros([2, 3, 16]);
      const y = pos.forward(x, { offset: 10 });
      expectClose(y.select(0, 1), pos.weight.narrow(0, 10, 3), 0, 0, { checkDtype: false });
      y.sum().backward();
      expect(flat(pos.weight.grad!.sum(1))[10]).toBe(2 * 16);
      expect(flat(pos.weight.grad!.sum(1))[0]).toBe(0);
      pos.dispose();
    });
  });

  test('RotaryEmbedding: Hugging Face rotate-half RoPE, partial rotary, relative-position property', () => {
    tn.tidy(() => {
      const q = P['pos.rope.in'];
      const rope = new nn.RotaryEmbedding({ dim: 8, maxLen: 32 });
      expect(Object.keys(rope.stateDict())).toEqual([]);
      expectClose(rope.forward(q, { offset: 3 }), P['pos.rope.out'], 1e-12, 1e-10);
      const partial = new nn.RotaryEmbedding({ dim: 4, maxLen: 32, base: 500 });
      expectClose(partial.forward(q), P['pos.rope_partial.out'], 1e-12, 1e-10);
      // q_m · k_n depends on m - n only
      const a = tn.randn([1, 8], { dtype: 'float64' });
      const b = tn.randn([1, 8], { dtype: 'float64' });
      const dot = (m: number, n: number): number => rope.forward(a, { offset: m }).mul(rope.forward(b, { offset: n })).sum().item() as number;
      expect(dot(7, 3)).toBeCloseTo(dot(14, 10), 10);
      expect(rope.forward(tn.randn([2, 4, 8])).dtype).toBe('float32');
      expectThrows(() => rope.forward(tn.randn([4, 6])), 'RangeError', /expected an input of shape \(\*, L, >= 8\)/);
      rope.dispose();
      partial.dispose();
    });
  });

  test('alibiSlopes: the reference slopes, powers of two and not', () => {
    for (const h of [1, 8, 6, 12]) {
      const want = flat(P[`pos.alibi.${h}`]);
      const got = nn.alibiSlopeValues(h);
      expect(got.length).toBe(h);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-15)); // (JS and C pow may differ in the last bit)
    }
    expect(nn.alibiSlopeValues(8)).toEqual([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
    tn.tidy(() => expect(nn.alibiSlopes(4).shape).toEqual([4]));
  });
});
