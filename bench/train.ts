/**
 * bench/train: training steps against Python PyTorch eager on the same libtorch, same threads.
 *
 *   GPT   6 layers, d 256, 8 heads, context 256, batch 16, vocabulary 96 (Python: the plain-torch
 *         GPT of test/reference/models_ref.py, math attention — torch 1.13 has no fused one)
 *   ViT   MNIST-sized 28², patches 4, 4 layers, width 64, 4 heads, MLP 128, batch 128
 *         (Python: torchvision's VisionTransformer; 3 input channels on both sides)
 * A step is zero-grad, forward, cross-entropy, backward and an AdamW update (fused multi-tensor
 * on our side, torch.optim.AdamW on Python's).
 */
import * as tn from '../lib';
import { runPython, table, timeMs } from './util';
import type { Row } from './util';

const CFG = {
  gpt: { vocabSize: 96, blockSize: 256, nLayer: 6, nHead: 8, nEmbd: 256, batch: 16 },
  vit: { imageSize: 28, patchSize: 4, numLayers: 4, numHeads: 4, hiddenDim: 64, mlpDim: 128, batch: 128 },
  reps: 3,
};

function steps(threads: number): Row[] {
  tn.setNumThreads(threads, threads);
  const py = runPython<{ rows: { case: string; ms: number }[] }>('train.py', [String(threads), JSON.stringify(CFG)], threads);
  const pyMs = (c: string): number => py.rows.find((r) => r.case === c)!.ms;
  tn.manualSeed(0);
  const g = CFG.gpt;
  const gpt = new tn.models.GPT(g);
  const opt = new tn.optim.AdamW(gpt.parameters(), { lr: 1e-4 });
  const x = tn.randint(0, g.vocabSize, [g.batch, g.blockSize]);
  const y = tn.randint(0, g.vocabSize, [g.batch, g.blockSize]);
  const gptMs = timeMs(() => tn.tidy(() => {
    opt.zeroGrad();
    gpt.forward(x, { targets: y }).loss!.backward();
    opt.step();
  }), CFG.reps);
  tn.dispose([x, y]);
  gpt.dispose();
  const v = CFG.vit;
  const vit = new tn.models.ViT({ ...v, numClasses: 10 });
  const opt2 = new tn.optim.AdamW(vit.parameters(), { lr: 1e-4 });
  const xi = tn.rand([v.batch, 3, v.imageSize, v.imageSize]);
  const yi = tn.randint(0, 10, [v.batch]);
  const vitMs = timeMs(() => tn.tidy(() => {
    opt2.zeroGrad();
    tn.nn.functional.crossEntropy(vit.forward(xi), yi).backward();
    opt2.step();
  }), CFG.reps);
  tn.dispose([xi, yi]);
  vit.dispose();
  return [
    { case: `GPT 6L d256 ctx256 batch 16, ${threads} thread(s)`, node: gptMs, python: pyMs('gpt') },
    { case: `ViT 28² p4 4L d64 batch 128, ${threads} thread(s)`, node: vitMs, python: pyMs('vit') },
  ];
}

/** Training steps, 1 and 2 threads. */
export function train(): string {
  const previous = tn.getNumThreads();
  try {
    const rows = [...steps(1), ...steps(2)];
    const speed = rows.map((r) => `${r.case}: ${(r.python / r.node).toFixed(2)}x Python's steps/s`).join('; ');
    return `${table(`Training steps (ms per step, median of ${CFG.reps}; lower is better)`, 'ms', rows)}${speed}.\n`;
  } finally {
    tn.setNumThreads(previous);
  }
}
