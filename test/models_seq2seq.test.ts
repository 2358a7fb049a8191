/**
 * tn.models.Seq2SeqTransformer against the same model around torch.nn.Transformer
 * (test/reference/models_ref.py; fixtures from make_models_fixtures.py, float64): keys, logits
 * with causal target attention and padding masks, every gradient, greedy decoding; then a copy
 * task it learns.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('models_gpt'));
const cfg = JSON.parse(metadata!.s2s) as { src_vocab: number; tgt_vocab: number; d_model: number; nhead: number; n_enc: number; n_dec: number; dim_ff: number; greedy: number[][] };

function build(): tn.models.Seq2SeqTransformer {
  const m = new tn.models.Seq2SeqTransformer({
    srcVocabSize: cfg.src_vocab, tgtVocabSize: cfg.tgt_vocab, dModel: cfg.d_model, nhead: cfg.nhead, numEncoderLayers: cfg.n_enc,
    numDecoderLayers: cfg.n_dec, dimFeedforward: cfg.dim_ff, dropout: 0, maxLen: 64, dtype: 'float64',
  });
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(F)) if (k.startsWith('s2s.sd.')) sd[k.slice(7)] = v;
  m.loadStateDict(sd, { strict: true });
  return m;
}

describe('Seq2SeqTransformer against torch.nn.Transformer', () => {
  it('keys, logits with masks, and every gradient', () => {
    const m = build();
    const keys = Object.keys(F).filter((k) => k.startsWith('s2s.sd.')).map((k) => k.slice(7));
    expect(Object.keys(tn.tidy(() => m.stateDict()))).toEqual(keys);
    const out = m.forward(F['s2s.in.src'], F['s2s.in.tgt'], { srcKeyPaddingMask: F['s2s.in.src_pad'], tgtKeyPaddingMask: F['s2s.in.tgt_pad'] });
    expectClose(out, F['s2s.out'], 1e-9, 1e-9);
    out.backward(F['s2s.gout']);
    for (const [k, p] of m.namedParameters()) expectClose(p.grad!, F[`s2s.grad.${k}`], 1e-9, 1e-8);
    m.dispose();
  });

  it('greedy decoding equals the reference', () => {
    const m = build();
    const src = tn.index(F['s2s.in.src'], tn.tensor([0, 2], { dtype: 'int64' }));
    expect(m.greedyDecode(src, { bosId: 1, eosId: 2, maxLength: 6 })).toEqual(cfg.greedy);
    expectThrows(() => m.forward(src.to('float32'), src), 'TypeError', /expected int64 token ids \(N, L\), but got float32/);
    m.dispose();
  });

  it('learns to copy sequences', () => {
    tn.manualSeed(0);
    const m = new tn.models.Seq2SeqTransformer({ srcVocabSize: 12, tgtVocabSize: 12, dModel: 32, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 64, dropout: 0, maxLen: 16 });
    const opt = new tn.optim.Adam(m.parameters(), { lr: 3e-3 });
    const src = tn.randint(3, 12, [32, 6]);
    const tgtIn = tn.cat([tn.full([32, 1], 1, { dtype: 'int64' }), src], 1);
    const tgtOut = tn.cat([src, tn.full([32, 1], 2, { dtype: 'int64' })], 1);
    let first = 0;
    let last = 0;
    for (let i = 0; i < 300; i++) {
      last = tn.tidy(() => {
        opt.zeroGrad();
        const loss = tn.nn.functional.crossEntropy(m.forward(src, tgtIn).reshape(-1, 12), tgtOut.reshape(-1));
        loss.backward();
        opt.step();
        return loss.item() as number;
      });
      if (i === 0) first = last;
    }
    expect(first).toBeGreaterThan(2);
    expect(last).toBeLessThan(0.05);
    const decoded = m.greedyDecode(src.narrow(0, 0, 4), { bosId: 1, eosId: 2, maxLength: 8 });
    expect(decoded).toEqual(tn.tidy(() => src.narrow(0, 0, 4).toArray()) as number[][]);
    m.dispose();
  });
});
