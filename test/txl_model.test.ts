/**
 * tn.txl.MemTransformerLM against a plain-torch model with the official semantics
 * (test/reference/txl_ref.py; fixtures from make_txl_model_fixtures.py, float64): a state dict
 * with upstream's keys loads strictly; three consecutive segments carrying memory give the same
 * per-token losses and memories; the last segment's gradients match for every parameter. Cases:
 * adaptive embedding/softmax with cutoffs and divVal 2 (tied weights and projections),
 * sameLength + clampLen + preLnorm, and divVal 1 with a projection (dEmbed ≠ dModel).
 * Then memory stays flat over many segments, and bad input is refused.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

interface Case {
  name: string;
  bsz: number;
  greedy: { prompt: number[]; tokens: number[] };
  config: Record<string, number | boolean | number[] | boolean[]>;
}

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('txl_model'));
const cases: Case[] = JSON.parse(metadata!.cases);

function options(c: Case): tn.txl.MemTransformerLMOptions {
  const k = c.config as Record<string, never>;
  return {
    nToken: k.n_token, nLayer: k.n_layer, nHead: k.n_head, dModel: k.d_model, dHead: k.d_head, dInner: k.d_inner, memLen: k.mem_len, tgtLen: k.tgt_len,
    cutoffs: k.cutoffs ?? [], divVal: k.div_val ?? 1, dEmbed: k.d_embed, tieProjs: k.tie_projs, sameLength: k.same_length ?? false,
    clampLen: k.clamp_len ?? -1, preLnorm: k.pre_lnorm ?? false, dtype: 'float64',
  };
}

function build(c: Case): tn.txl.MemTransformerLM {
  const model = new tn.txl.MemTransformerLM(options(c));
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(F)) if (k.startsWith(`${c.name}.sd.`)) sd[k.slice(c.name.length + 4)] = v;
  model.loadStateDict(sd, { strict: true });
  return model;
}

describe.each(cases.map((c) => [c.name, c] as const))('MemTransformerLM against the reference: %s', (name, c) => {
  it("has upstream's state-dict keys, in order", () => {
    const model = build(c);
    const keys = Object.keys(F).filter((k) => k.startsWith(`${name}.sd.`)).map((k) => k.slice(name.length + 4));
    expect(Object.keys(tn.tidy(() => model.stateDict()))).toEqual(keys);
    model.dispose();
  });

  it('three segments carrying memory: losses, memories, and the last segment’s gradients', () => {
    const model = build(c);
    let mems: Tensor[] = [];
    let loss: Tensor | null = null;
    for (let s = 0; s < 3; s++) {
      model.zeroGrad();
      const out = model.forward(F[`${name}.seg${s}.data`], F[`${name}.seg${s}.target`], ...mems);
      [loss, ...mems] = out;
      expectClose(loss, F[`${name}.seg${s}.loss`], 1e-10, 1e-9);
      expect(mems.length).toBe((c.config.n_layer as number) + 1);
      mems.forEach((m, i) => expectClose(m, F[`${name}.seg${s}.mem${i}`], 1e-10, 1e-9));
    }
    loss!.mean().backward();
    for (const [k, p] of model.namedParameters()) expectClose(p.grad!, F[`${name}.grad.${k}`], 1e-9, 1e-8);
    model.dispose();
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('generation with memory: %s', (_name, c) => {
  it('greedy tokens equal the reference feeding segments then single tokens with memory', async () => {
    const model = build(c);
    expect(tn.txl.generateSync(model, c.greedy.prompt, { maxNewTokens: 8, temperature: 0 })).toEqual(c.greedy.tokens);
    const streamed: number[] = [];
    for await (const id of tn.txl.generate(model, c.greedy.prompt, { maxNewTokens: 3, temperature: 0 })) streamed.push(id);
    expect(streamed).toEqual(c.greedy.tokens.slice(0, 3));
    const sampled = tn.txl.generateSync(model, c.greedy.prompt, { maxNewTokens: 8, temperature: 1, topK: 5, seed: 3 });
    expect(tn.txl.generateSync(model, c.greedy.prompt, { maxNewTokens: 8, temperature: 1, topK: 5, seed: 3 })).toEqual(sampled);
    expect(model.training).toBe(true); // restored
    model.dispose();
  });
});

describe('MemTransformerLM behaviour', () => {
  const c = cases[0];

  it.each(cases.map((k) => [k.name, k] as const))('evaluation reusing the memory’s keys/values equals recomputing them (%s)', (_n, k) => {
    const model = build(k).eval();
    const reuse: tn.txl.TXLState = { mems: model.initMems(k.bsz) };
    let mems: Tensor[] = [];
    tn.noGrad(() => {
      for (let s = 0; s < 3; s++) {
        const data = F[`${k.name}.seg${s}.data`];
        const target = F[`${k.name}.seg${s}.target`];
        const a = model.forwardSegment(data, target, reuse);
        expect(reuse.kv?.length).toBe((k.config.n_layer as number));
        const [b, ...next] = model.forward(data, target, ...mems);
        mems = next;
        expectClose(a, b, 1e-11, 1e-10);
        expectClose(a, F[`${k.name}.seg${s}.loss`], 1e-10, 1e-9);
      }
    });
    model.train();
    tn.noGrad(() => model.forwardSegment(F[`${k.name}.seg0.data`], F[`${k.name}.seg0.target`], reuse));
    expect(reuse.kv).toBeUndefined(); // training mode: nothing cached (weights may change)
    model.dispose();
  });

  it('forwardSegment keeps memory flat over many segments', () => {
    const model = build(c);
    const state = { mems: model.initMems(c.bsz) };
    const data = F[`${c.name}.seg0.data`];
    const target = F[`${c.name}.seg0.target`];
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) tn.tidy(() => void tn.noGrad(() => model.forwardSegment(data, target, state)));
    };
    run(3);
    const before = tn.memory();
    run(50);
    const after = tn.memory();
    expect(after.liveTensors).toBeLessThanOrEqual(before.liveTensors); // <=: the addon's sweeps may also free garbage earlier tests left
    expect(after.bytes).toBeLessThanOrEqual(before.bytes);
    expect(state.mems[0].shape).toEqual([6, c.bsz, 16]);
    // Evaluation keeps the keys/values too: still flat once they exist.
    model.eval();
    run(3);
    const evalBefore = tn.memory();
    run(50);
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(evalBefore.liveTensors);
    expect(tn.memory().bytes).toBeLessThanOrEqual(evalBefore.bytes);
    model.dispose();
  });

  it('refuses bad input with clear errors', () => {
    const model = build(c);
    const data = F[`${c.name}.seg0.data`];
    const target = F[`${c.name}.seg0.target`];
    expectThrows(() => model.forward(data.to('float64'), target), 'TypeError', /data: expected int64 token ids \(len, batch\), but got float64/);
    expectThrows(() => model.forward(data, target.narrow(1, 0, 1)), 'RangeError', /target: expected \(≤ 5, 3\)/);
    expectThrows(() => model.forward(data, target, ...model.initMems(2)), 'RangeError', /mems\[0\]: expected \(mlen, 3, 16\), but got \[0, 2, 16\]/);
    expectThrows(() => model.forward(data, target, model.initMems(3)[0]), 'RangeError', /expected 3 memories/);
    expectThrows(() => new tn.txl.MemTransformerLM({ ...options(c), cutoffs: [30, 20] }), 'RangeError', /cutoffs: expected increasing integers/);
    model.dispose();
  });
});
