/**
 * tn.models.BertForMaskedLM against a plain-torch BERT with HuggingFace's architecture and names
 * (test/reference/models_ref.py; fixtures from make_models_fixtures.py, float64): keys, logits
 * with padding and token types, the MLM loss over labels ≠ −100, every gradient; then maskTokens.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath, flat } from './helpers';

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('models_gpt'));
const cfg = JSON.parse(metadata!.bert) as Record<string, number>;

function build(): tn.models.BertForMaskedLM {
  const bert = new tn.models.BertForMaskedLM({
    vocabSize: cfg.vocab_size, hiddenSize: cfg.hidden_size, numHiddenLayers: cfg.num_hidden_layers, numAttentionHeads: cfg.num_attention_heads,
    intermediateSize: cfg.intermediate_size, maxPositionEmbeddings: cfg.max_position_embeddings, dtype: 'float64',
  });
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(F)) if (k.startsWith('bert.sd.')) sd[k.slice(8)] = v;
  bert.loadStateDict(sd, { strict: true });
  return bert.eval();
}

describe('BertForMaskedLM against the reference', () => {
  it("has HuggingFace's keys in order, decoder tied to the word embeddings and predictions.bias", () => {
    const bert = build();
    const keys = Object.keys(F).filter((k) => k.startsWith('bert.sd.')).map((k) => k.slice(8));
    expect(Object.keys(tn.tidy(() => bert.stateDict()))).toEqual(keys);
    expect(bert.cls.predictions.decoder.weight).toBe(bert.bert.embeddings.word_embeddings.weight);
    expect(bert.cls.predictions.decoder.bias).toBe(bert.cls.predictions.bias);
    bert.dispose();
  });

  it('logits, loss and every gradient, with padding and token types', () => {
    const bert = build();
    const { logits, loss } = bert.forward(F['bert.in.ids'], { attentionMask: F['bert.in.mask'], tokenTypeIds: F['bert.in.types'], labels: F['bert.in.labels'] });
    expectClose(logits, F['bert.out.logits'], 1e-9, 1e-9);
    expectClose(loss!.reshape(1), F['bert.out.loss'], 1e-10, 1e-10);
    loss!.backward();
    for (const [k, p] of bert.namedParameters()) expectClose(p.grad!, F[`bert.grad.${k}`], 1e-9, 1e-8);
    bert.dispose();
  });

  it('refuses bad input', () => {
    const bert = build();
    expectThrows(() => bert.forward(tn.zeros([2, 3])), 'TypeError', /inputIds: expected an int64 Tensor \(B, L\), but got float32 \[2, 3\]/);
    expectThrows(() => bert.forward(tn.zeros([1, 30], { dtype: 'int64' })), 'RangeError', /at most 20 tokens, but got 30/);
    bert.dispose();
  });
});

describe('maskTokens', () => {
  it('selects ~15 %, 80/10/10 replacement, labels only where selected, specials untouched, seeded', () => {
    const n = 20_000;
    const ids = tn.tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(5 + (i % 90))));
    const { inputIds, labels } = tn.models.maskTokens(ids, { maskTokenId: 1, vocabSize: 100, seed: 3, specialTokenIds: [5] });
    const src = flat(ids);
    const inp = flat(inputIds);
    const lab = flat(labels);
    const selected = lab.map((l, i) => (l !== -100 ? i : -1)).filter((i) => i >= 0);
    expect(Math.abs(selected.length / n - 0.15 * (89 / 90))).toBeLessThan(0.01);
    for (const i of selected) expect(lab[i]).toBe(src[i]);
    for (let i = 0; i < n; i++) if (lab[i] === -100) expect(inp[i]).toBe(src[i]);
    expect(selected.every((i) => src[i] !== 5)).toBe(true);
    const masked = selected.filter((i) => inp[i] === 1).length / selected.length;
    const kept = selected.filter((i) => inp[i] === src[i]).length / selected.length;
    expect(Math.abs(masked - 0.8)).toBeLessThan(0.03);
    expect(Math.abs(kept - 0.1)).toBeLessThan(0.03); // random replacements rarely hit the same id
    expect(flat(tn.models.maskTokens(ids, { maskTokenId: 1, vocabSize: 100, seed: 3, specialTokenIds: [5] }).inputIds)).toEqual(inp);
  });
});
