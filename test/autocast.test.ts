/**
 * tn.autocast against torch.autocast('cpu', dtype=torch.bfloat16) (fixtures from
 * test/reference/make_autocast_fixtures.py, torch 1.13, the same libtorch): which ops run in
 * bfloat16, their values bit for bit, and the float32 parameters' gradients; then scoping.
 */
import * as tn from '../lib';
import { expectClose, expectThrows, fixturePath, flat } from './helpers';

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('autocast'));
const dtypes = JSON.parse(metadata!.dtypes) as Record<string, string>;

describe('autocast (CPU, bfloat16)', () => {
  it('casts what torch casts, with the same values and float32 gradients', () => {
    const [w1, b1, w2, b2, lnW, lnB] = ['w1', 'b1', 'w2', 'b2', 'ln_w', 'ln_b'].map((k) => F[k].clone().requiresGrad_());
    const r = tn.autocast(() => {
      const h = tn.nn.functional.linear(F.x, w1, b1);
      const g = tn.nn.functional.gelu(h);
      const n = tn.nn.functional.layerNorm(g, [16], lnW, lnB);
      const out = tn.nn.functional.linear(n, w2, b2);
      return { h, g, n, out, mm: F.a.matmul(F.b), sm: tn.softmax(out, -1) };
    });
    for (const [k, t] of Object.entries(r)) {
      expect(`${k}: ${t.dtype}`).toBe(`${k}: ${dtypes[k]}`);
      // Bit for bit on the machine that made the fixtures, but libtorch picks its bfloat16
      // kernels by ISA (GELU differs by one bfloat16 ulp between the AVX2 and AVX-512 paths,
      // and the difference travels on): within two ulps (2^-6 relative) elsewhere.
      expectClose(t, F[k], 2 ** -6, 2 ** -6);
    }
    r.out.to('float32').pow(2).sum().backward();
    for (const [k, p] of [['w1', w1], ['b1', b1], ['w2', w2], ['b2', b2], ['ln_w', lnW], ['ln_b', lnB]] as const) {
      expect(p.grad!.dtype).toBe('float32');
      // Through bfloat16 activations the ISA-dependent roundings above reach every gradient:
      // compare as a whole (0.2-0.7% measured on an AVX2 machine, 0 on the fixtures' own).
      const [a, e] = [flat(p.grad!), flat(F[`grad.${k}`])];
      const err = Math.hypot(...a.map((v, i) => v - e[i])) / Math.hypot(...e);
      expect(`${k}: ${err < 0.02}`).toBe(`${k}: true`);
    }
  });

  it('is scoped: off outside, nests, enabled:false turns it off inside, restored after errors', () => {
    expect(tn.isAutocastEnabled()).toBe(false);
    tn.autocast(() => {
      expect(tn.isAutocastEnabled()).toBe(true);
      tn.autocast(() => expect(tn.isAutocastEnabled()).toBe(false), { enabled: false });
      expect(tn.isAutocastEnabled()).toBe(true);
      expect(F.a.matmul(F.b).dtype).toBe('bfloat16');
    });
    expect(tn.isAutocastEnabled()).toBe(false);
    expect(F.a.matmul(F.b).dtype).toBe('float32');
    expect(() => tn.autocast(() => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(tn.isAutocastEnabled()).toBe(false);
    expectThrows(() => tn.autocast((async () => 1) as unknown as () => number), 'TypeError', /synchronous function/);
    expect(tn.isAutocastEnabled()).toBe(false);
    expectThrows(() => tn.autocast(() => 1, { dtype: 'int8' as never }), 'TypeError', /'bfloat16' or 'float16'/);
  });

  it('runs a GPT forward in bfloat16 close to float32', () => {
    tn.manualSeed(0);
    const gpt = new tn.models.GPT({ vocabSize: 50, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 });
    const x = tn.randint(0, 50, [2, 16]);
    const full = gpt.forward(x).logits;
    const mixed = tn.autocast(() => gpt.forward(x).logits);
    expect(mixed.dtype).toBe('bfloat16');
    expectClose(mixed.to('float32'), full, 0.05, 0.05);
    gpt.dispose();
  });
});
