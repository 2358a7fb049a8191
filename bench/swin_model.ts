/**
 * bench/swin_model: the whole Swin-T (tn.swin.swinT: embed 96, depths [2, 2, 6, 2], heads
 * [3, 6, 12, 24], window 7, 1000 classes) at 224², float32, at 1 and 2 threads, equal on both
 * sides (tn.setNumThreads(t, t); torch.set_num_threads(t) and OMP/OPENBLAS_NUM_THREADS=t).
 *
 *   forward      eval mode under tn.inferenceMode / torch.inference_mode, batch 1 and 8
 *   train step   train mode (drop path 0.2 as the official Swin-T recipe), cross-entropy on
 *                random labels, backward; gradients cleared (no optimiser update)
 *
 * Python is bench/python/swin_model.py: test/reference/swin_model_ref.py, the model written op
 * for op like the official code (roll + view/permute partition, unfused window attention).
 * Node runs the fused ops (roll + partition, window attention, merge + roll, patch merge).
 */
import * as tn from '../lib';
import { runPython, table, timeMs } from './util';
import type { Row } from './util';

const CFG = { img: 224, trainBatch: 8, dropPathRate: 0.2, reps: { fwd1: 5, fwd8: 3, train: 3 } };


/** Swin-T forward (batch 1, 8) and a training step, Node against Python, 1 and 2 threads. */
export function swinModel(): string {
  return [1, 2].map(swinModelAt).join('\n');
}

function swinModelAt(threads: number): string {
  const previous = tn.getNumThreads();
  tn.setNumThreads(threads, threads);
  try {
    const py = runPython<{ rows: { case: string; ms: number }[] }>('swin_model.py', [String(threads), JSON.stringify(CFG)], threads);
    const pyMs = (c: string): number => py.rows.find((r) => r.case === c)!.ms;
    tn.manualSeed(0);
    const model = tn.swin.swinT({ imgSize: CFG.img, dropPathRate: CFG.dropPathRate });
    const rows: Row[] = [];
    const perSec: string[] = [];
    try {
      model.eval();
      for (const [b, key] of [[1, 'fwd1'], [8, 'fwd8']] as const) {
        const x = tn.randn([b, 3, CFG.img, CFG.img]);
        const ms = timeMs(() => tn.inferenceMode(() => tn.tidy(() => void model.forward(x))), CFG.reps[key]);
        x.dispose();
        const p = pyMs(`forward b${b}`);
        rows.push({ case: `Swin-T forward, batch ${b}`, node: ms, python: p });
        perSec.push(`forward batch ${b}: ${((1000 * b) / ms).toFixed(2)} images/s (Python ${((1000 * b) / p).toFixed(2)}, ${(p / ms).toFixed(2)}x)`);
      }
      model.train();
      const B = CFG.trainBatch;
      const x = tn.randn([B, 3, CFG.img, CFG.img]);
      const y = tn.randint(0, 1000, [B]);
      const params = model.parameters();
      const ms = timeMs(
        () =>
          tn.tidy(() => {
            tn.nn.functional.crossEntropy(model.forward(x), y).backward();
            for (const p of params) p.grad = null;
          }),
        CFG.reps.train,
      );
      tn.dispose([x, y]);
      const p = pyMs('train step');
      rows.push({ case: `Swin-T training step (forward + backward), batch ${B}`, node: ms, python: p });
      perSec.push(`training batch ${B}: ${((1000 * B) / ms).toFixed(2)} images/s (Python ${((1000 * B) / p).toFixed(2)}, ${(p / ms).toFixed(2)}x)`);
    } finally {
      model.dispose();
    }
    const title = `Swin-T 224², float32, ${threads} thread${threads > 1 ? 's' : ''} (ms, median of ${CFG.reps.fwd1} / ${CFG.reps.fwd8} / ${CFG.reps.train})`;
    return `${table(title, 'ms', rows)}${perSec.join('; ')}.\n`;
  } finally {
    tn.setNumThreads(previous);
  }
}
