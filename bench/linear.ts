/**
 * bench/linear: float32 linear layers, y = x·Wᵀ + b, forward and forward + backward, against
 * torch.nn.functional.linear from Python (bench/python/linear.py) on this libtorch. Node runs
 * oneDNN's sgemm (native/src/kernels/linear; tn.config().linearGemm), Python libtorch's addmm
 * on OpenBLAS: the layers that dominate Swin-T, GPT and Transformer-XL steps.
 */
import * as tn from '../lib';
import { runPython, table, timeMs } from './util';
import type { Row } from './util';

const CFG = {
  shapes: [
    { name: 'Swin-T stage 1 qkv, 8x3136 tokens, 96 -> 288', m: 8 * 3136, k: 96, n: 288 },
    { name: 'Swin-T stage 1 MLP out, 8x3136 tokens, 384 -> 96', m: 8 * 3136, k: 384, n: 96 },
    { name: 'Swin-T stage 3 MLP in, 8x196 tokens, 384 -> 1536', m: 8 * 196, k: 384, n: 1536 },
    { name: 'GPT d256 MLP in, 16x256 tokens, 256 -> 1024', m: 16 * 256, k: 256, n: 1024 },
    { name: 'TXL qkv, 8x256 tokens, 256 -> 768', m: 8 * 256, k: 256, n: 768 },
  ],
  reps: 7,
};

export function linear(): string {
  const out: string[] = [];
  for (const threads of [1, 2]) {
    tn.setNumThreads(threads, threads);
    const py = runPython<{ rows: { case: string; ms: number }[] }>('linear.py', [String(threads), JSON.stringify(CFG)], threads);
    const pyMs = (c: string): number => py.rows.find((r) => r.case === c)!.ms;
    const rows: Row[] = [];
    tn.manualSeed(0);
    for (const s of CFG.shapes) {
      tn.tidy(() => {
        const x = tn.randn([s.m, s.k]);
        const w = tn.randn([s.n, s.k]).div(Math.sqrt(s.k));
        const b = tn.randn([s.n]);
        const g = tn.randn([s.m, s.n]);
        const fwd = timeMs(() => tn.inferenceMode(() => tn.tidy(() => void tn.nn.functional.linear(x, w, b))), CFG.reps);
        rows.push({ case: `${s.name} fwd`, node: fwd, python: pyMs(`${s.name} fwd`) });
        const [xg, wg, bg] = [x, w, b].map((t) => t.clone().requiresGrad_());
        const step = timeMs(() => tn.tidy(() => {
          tn.nn.functional.linear(xg, wg, bg).backward(g);
          for (const t of [xg, wg, bg]) t.grad = null;
        }), CFG.reps);
        rows.push({ case: `${s.name} fwd+bwd`, node: step, python: pyMs(`${s.name} fwd+bwd`) });
        tn.dispose([xg, wg, bg]);
      });
    }
    out.push(table(`Linear layers, float32, ${threads} thread(s), Node on ${tn.config().linearGemm} (ms, median of ${CFG.reps})`, 'ms', rows));
  }
  return out.join('\n');
}
