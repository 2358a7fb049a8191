/**
 * tn.models.GPT against a plain-torch GPT (test/reference/models_ref.py, fixtures from
 * make_models_fixtures.py, float64): state-dict keys, logits, loss with ignored targets, every
 * parameter's gradient, and greedy generation through the KV cache against the reference's
 * cache-free greedy continuation. Then the cache itself: cached decoding equals a full forward,
 * batched rows at different lengths equal each row alone, memory stays flat, and bad arguments
 * are refused with clear errors.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

interface Case {
  name: string;
  config: { vocab_size: number; block_size: number; n_layer: number; n_head: number; n_embd: number; bias: boolean };
  prompt: number[];
  greedy: number[];
}

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('models_gpt'));
const cases: Case[] = JSON.parse(metadata!.cases);

function build(c: Case): tn.models.GPT {
  const cfg = c.config;
  const gpt = new tn.models.GPT({ vocabSize: cfg.vocab_size, blockSize: cfg.block_size, nLayer: cfg.n_layer, nHead: cfg.n_head, nEmbd: cfg.n_embd, bias: cfg.bias, dtype: 'float64' });
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(F)) if (k.startsWith(`${c.name}.sd.`)) sd[k.slice(c.name.length + 4)] = v;
  gpt.loadStateDict(sd, { strict: true });
  return gpt;
}

describe.each(cases.map((c) => [c.name, c] as const))('GPT against the torch reference: %s', (name, c) => {
  it('has the reference state-dict keys (nanoGPT names, lm_head tied)', () => {
    const gpt = build(c);
    const keys = Object.keys(F).filter((k) => k.startsWith(`${name}.sd.`)).map((k) => k.slice(name.length + 4));
    expect(Object.keys(tn.tidy(() => gpt.stateDict())).sort()).toEqual(keys.sort());
    expect(gpt.lm_head.weight).toBe(gpt.transformer.wte.weight);
    gpt.dispose();
  });

  it('logits, loss (ignoreIndex -1) and every parameter gradient', () => {
    const gpt = build(c);
    const { logits, loss } = gpt.forward(F[`${name}.in.idx`], { targets: F[`${name}.in.targets`] });
    expectClose(logits, F[`${name}.out.logits`], 1e-9, 1e-9);
    expectClose(loss!.reshape(1), F[`${name}.out.loss`], 1e-10, 1e-10);
    loss!.backward();
    for (const [k, p] of gpt.namedParameters()) expectClose(p.grad!, F[`${name}.grad.${k}`], 1e-9, 1e-8);
    gpt.dispose();
  });

  it('greedy generation through the KV cache equals the reference recomputing the context', async () => {
    const gpt = build(c);
    const want = c.greedy;
    expect(gpt.generateSync(c.prompt, { maxNewTokens: 1000, temperature: 0 })).toEqual(want); // stops at blockSize
    const streamed: number[] = [];
    for await (const id of gpt.generate(c.prompt, { maxNewTokens: 6, temperature: 0 })) streamed.push(id);
    expect(streamed).toEqual(want.slice(0, 6));
    expect(gpt.generateSync(c.prompt, { maxNewTokens: 8, temperature: 0, stopTokens: [want[3]] })).toEqual(want.slice(0, want.indexOf(want[3])));
    gpt.dispose();
  });
});

describe('GPT KV cache', () => {
  const c = cases[0];

  it('prefill + one token at a time equals one full forward', () => {
    const gpt = build(c);
    const idx = F[`${c.name}.in.idx`];
    const [B, T] = idx.shape;
    const full = gpt.forward(idx).logits;
    const cache = gpt.createCache({ maxBatch: B, maxLength: 20 });
    tn.noGrad(() => {
      const parts = [gpt.forward(idx.narrow(1, 0, 7), { cache }).logits];
      for (let t = 7; t < T; t++) parts.push(gpt.forward(idx.narrow(1, t, 1), { cache }).logits);
      expectClose(tn.cat(parts, 1), full, 1e-10, 1e-9);
    });
    expect(cache.length(0)).toBe(T);
    cache.dispose();
    gpt.dispose();
  });

  it('batched decoding of rows at different lengths, in any slots, equals each row alone', () => {
    const gpt = build(c);
    const idx = F[`${c.name}.in.idx`];
    const prefixes = [3, 9, 5];
    const alone = prefixes.map((n, b) => tn.noGrad(() => gpt.forward(idx.narrow(0, b, 1).narrow(1, 0, n + 2)).logits.select(1, n + 1)));
    const cache = gpt.createCache({ maxBatch: 5, maxLength: 20 });
    const slots = [4, 0, 2];
    tn.noGrad(() => {
      prefixes.forEach((n, b) => gpt.forward(idx.narrow(0, b, 1).narrow(1, 0, n), { cache, slots: [slots[b]] }));
      // Two batched single-token steps: rows at lengths 3, 9, 5 then 4, 10, 6.
      for (let s = 0; s < 2; s++) {
        const step = tn.stack(prefixes.map((n, b) => idx.select(0, b).narrow(0, n + s, 1)));
        const out = gpt.forward(step, { cache, slots }).logits;
        if (s === 1) prefixes.forEach((_, b) => expectClose(out.select(0, b).select(0, 0), alone[b].select(0, 0), 1e-10, 1e-9));
      }
    });
    expect(slots.map((s) => cache.length(s))).toEqual([5, 11, 7]);
    cache.dispose();
    gpt.dispose();
  });

  it('moveSlot carries a sequence to another slot (decoding continues identically)', () => {
    const gpt = build(c);
    const idx = F[`${c.name}.in.idx`].narrow(0, 0, 1);
    const cache = gpt.createCache({ maxBatch: 3, maxLength: 20 });
    tn.noGrad(() => {
      gpt.forward(idx.narrow(1, 0, 6), { cache, slots: [2] });
      cache.moveSlot(2, 0);
      expect([cache.length(0), cache.length(2)]).toEqual([6, 0]);
      const moved = gpt.forward(idx.narrow(1, 6, 1), { cache, slots: [0] }).logits;
      const full = gpt.forward(idx.narrow(1, 0, 7)).logits.narrow(1, 6, 1);
      expectClose(moved, full, 1e-10, 1e-9);
    });
    cache.dispose();
    gpt.dispose();
  });

  it('keeps memory flat over many decode steps', () => {
    const gpt = build(c);
    const cache = gpt.createCache({ maxBatch: 2, maxLength: 24 });
    const one = tn.tensor([[1], [2]], { dtype: 'int64' });
    const before = tn.memory().liveTensors;
    for (let round = 0; round < 5; round++) {
      cache.reset(0);
      cache.reset(1);
      for (let i = 0; i < 20; i++) tn.tidy(() => void tn.noGrad(() => gpt.forward(one, { cache })));
    }
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(before); // <=: the addon's sweeps may also free garbage earlier tests left
    one.dispose();
    cache.dispose();
    gpt.dispose();
  });

  it('refuses bad arguments with clear errors', () => {
    const gpt = build(c);
    const cache = gpt.createCache({ maxBatch: 2, maxLength: 8 });
    const ids = (rows: number[][]): Tensor => tn.tensor(rows, { dtype: 'int64' });
    expectThrows(() => gpt.forward(tn.zeros([2, 3])), 'TypeError', /idx: expected an int64 Tensor of shape \(B, T\), but got float32/);
    expectThrows(() => gpt.forward(tn.zeros([1, 30], { dtype: 'int64' })), 'RangeError', /at most blockSize 24 tokens, but got 30/);
    expectThrows(() => gpt.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9]]), { cache }), 'RangeError', /holds 8 tokens per slot, but this step needs 9/);
    expectThrows(() => gpt.forward(ids([[1], [2]]), { cache, slots: [0] }), 'RangeError', /expected 2 slots/);
    expectThrows(() => gpt.forward(ids([[1], [2]]), { cache, slots: [1, 1] }), 'RangeError', /distinct slots/);
    expectThrows(() => gpt.forward(ids([[1]]), { cache, slots: [2] }), 'RangeError', /slot/);
    gpt.forward(ids([[1, 2]]), { cache, slots: [0] });
    expectThrows(() => gpt.forward(ids([[1, 2], [3, 4]]), { cache }), 'RangeError', /same number of cached tokens, but got lengths \[2, 0\]/);
    expectThrows(() => gpt.createCache({ maxBatch: 1, maxLength: 25 }), 'RangeError', /maxLength/);
    expectThrows(() => new tn.models.GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 3, nEmbd: 16 }), 'RangeError', /nEmbd divisible by nHead/);
    expectThrows(() => gpt.generateSync([], {}), 'TypeError', /promptIds/);
    expectThrows(() => gpt.generateSync([99], {}), 'RangeError', /promptIds\[0\]/);
    expectThrows(() => gpt.generateSync([1], { topP: 0 }), 'RangeError', /topP/);
    cache.dispose();
    gpt.dispose();
  });

  it('a tiny GPT learns a fixed batch (loss falls)', () => {
    tn.manualSeed(0);
    const gpt = new tn.models.GPT({ vocabSize: 11, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 });
    const opt = new tn.optim.AdamW(gpt.parameters(), { lr: 3e-3 });
    const x = tn.tensor([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]], { dtype: 'int64' });
    const y = tn.tensor([[2, 3, 4, 5, 6, 7, 8, 9], [7, 6, 5, 4, 3, 2, 1, 0]], { dtype: 'int64' });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      losses.push(tn.tidy(() => {
        opt.zeroGrad();
        const { loss } = gpt.forward(x, { targets: y });
        loss!.backward();
        opt.step();
        return loss!.item() as number;
      }));
    }
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses[59]).toBeLessThan(0.1);
    gpt.dispose();
  });
});
