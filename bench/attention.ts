/**
 * bench/attention: the fused attention kernel against libtorch's math path (called from the
 * addon, op 'mathAttention') and PyTorch's `_scaled_dot_product_attention` from Python, on
 * the same libtorch with the same threads (libtorch and OpenBLAS alike).
 *
 * B = 1, H = 8, d = 64, float32; N = 512 … 4096, causal and not, forward and forward +
 * backward, at 1 and 2 threads; N = 8192 forward for the fused kernel (and, with
 * TN_BENCH_LARGE=1, for the baselines too: 4 GiB and several seconds each).
 * FLOPs: 4·B·H·N²·d forward (halved for causal), backward 2.5× forward. "× sgemm" is the
 * fraction of the 1024³ sgemm rate measured in the same run at the same threads.
 * Peak extra memory: one forward in a fresh process (bench/attention_memory.ts,
 * bench/python/attention.py mem), beyond the output itself.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import * as tn from '../lib';
import { native, opId } from '../lib/binding';
import { PYTHON, runPython, timeMs } from './util';

const H = 8;
const D = 64;
const SIZES = [512, 1024, 2048, 4096];
const LARGE = process.env.TN_BENCH_LARGE === '1';

interface PyRow {
  n: number;
  causal: boolean;
  mode: 'fwd' | 'fwd+bwd';
  ms: number;
}

/** Repetitions by size (each timed call; the median is reported). */
const repsFor = (n: number, slow: boolean): number => (n <= 1024 ? 7 : n <= 2048 ? 3 : slow ? 2 : 3);

/**
 * Sleeps (synchronously). OpenBLAS's pthread workers spin for ~0.1 s after each call; on a
 * 2-core machine they take the core the kernel's second OpenMP thread needs (measured: the
 * fused kernel at 2 threads runs at 1-thread speed for ~2 calls after a 2-thread sgemm).
 * Each measurement therefore starts after a pause, as it would in a fresh process.
 */


function sgemmGflops(): number {
  const a = tn.randn([1024, 1024]);
  const ms = timeMs(() => tn.tidy(() => void a.matmul(a)), 5, 1);
  a.dispose();
  return (2 * 1024 ** 3) / ms / 1e6;
}

const MATH = opId('mathAttention');
const math = (q: tn.Tensor, k: tn.Tensor, v: tn.Tensor, causal: boolean): tn.Tensor =>
  tn.Tensor._wrap(native.op(MATH, q.id, k.id, v.id, null, 0, causal) as number);
const fused = (q: tn.Tensor, k: tn.Tensor, v: tn.Tensor, causal: boolean): tn.Tensor =>
  tn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: causal });

type Impl = typeof fused;

/** Forward (no grad) and forward + backward times of one implementation. */
function timeImpl(impl: Impl, n: number, causal: boolean, backward: boolean, slow: boolean): { fwd: number; fwdBwd: number | null } {
  const reps = repsFor(n, slow);
  const warmup = slow ? (n > 2048 ? 0 : 1) : n > 2048 ? 1 : 2;
  const [q, k, v] = [0, 1, 2].map(() => tn.randn([1, H, n, D]));
  try {
    const fwd = timeMs(() => tn.noGrad(() => tn.tidy(() => void impl(q, k, v, causal))), reps, warmup);
    let fwdBwd: number | null = null;
    if (backward) {
      const leaves = [q, k, v].map((t) => t.clone().requiresGrad_(true));
      const g = tn.randn([1, H, n, D]);
      fwdBwd = timeMs(
        () =>
          tn.tidy(() => {
            impl(leaves[0], leaves[1], leaves[2], causal).backward(g);
            for (const l of leaves) l.grad = null;
          }),
        reps,
        warmup,
      );
      tn.dispose([leaves, g]);
    }
    return { fwd, fwdBwd };
  } finally {
    tn.dispose([q, k, v]);
  }
}

const gflop = (n: number, causal: boolean, mode: 'fwd' | 'fwd+bwd'): number => ((4 * H * n * n * D) / (causal ? 2 : 1) / 1e9) * (mode === 'fwd' ? 1 : 3.5);
const f = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : x.toFixed(digits));

function timingTable(threads: number): string {
  tn.setNumThreads(threads, threads);
  const baselineSizes = LARGE ? [...SIZES, 8192] : SIZES;
  const reps = Object.fromEntries(baselineSizes.map((n) => [String(n), repsFor(n, true)]));
  const py = runPython<{ sgemm_gflops: number; rows: PyRow[]; torch: string }>(
    'attention.py',
    ['time', String(threads), JSON.stringify({ sizes: baselineSizes, reps, heads: H, dim: D, backward: SIZES })],
    threads,
  );
  const pyMs = (n: number, causal: boolean, mode: string): number | undefined => py.rows.find((r) => r.n === n && r.causal === causal && r.mode === mode)?.ms;
  const sgemm = sgemmGflops();
  const lines = [
    `### Attention, ${threads} thread${threads > 1 ? 's' : ''} (B=1, H=${H}, d=${D}, float32; ms, median)`,
    '',
    `sgemm 1024³ in this run: ${sgemm.toFixed(0)} GFLOP/s from the addon, ${py.sgemm_gflops.toFixed(0)} GFLOP/s from Python.`,
    '',
    '| N | causal | pass | fused (ms) | fused GFLOP/s | × sgemm | libtorch math, addon (ms) | PyTorch from Python (ms) | Python / fused |',
    '|---:|:---:|:---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of [...SIZES, 8192]) {
    for (const causal of [false, true]) {
      const big = n > 4096;
      const fu = timeImpl(fused, n, causal, !big, false);
      const ma = !big || LARGE ? timeImpl(math, n, causal, !big, true) : null;
      for (const mode of ['fwd', 'fwd+bwd'] as const) {
        const ms = mode === 'fwd' ? fu.fwd : fu.fwdBwd;
        if (ms === null) continue;
        const rate = gflop(n, causal, mode) / (ms / 1e3);
        const p = pyMs(n, causal, mode);
        lines.push(
          `| ${n} | ${causal ? 'yes' : 'no'} | ${mode} | ${f(ms)} | ${f(rate)} | ${f(rate / sgemm, 2)} | ${f(mode === 'fwd' ? ma?.fwd : ma?.fwdBwd)} | ${f(p)} | ${p === undefined ? '–' : (p / ms).toFixed(2) + 'x'} |`,
        );
      }
    }
  }
  return lines.join('\n') + '\n';
}

function childMemory(kind: 'fused' | 'math' | 'python', n: number): number | null {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
  const r =
    kind === 'python'
      ? spawnSync(PYTHON, [path.resolve(__dirname, '..', '..', 'bench', 'python', 'attention.py'), 'mem', String(n), 'false'], { env, encoding: 'utf8' })
      : spawnSync(process.execPath, [path.join(__dirname, 'attention_memory.js'), String(n), kind, 'false'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`attention memory (${kind}, N=${n}) failed: ${r.stderr}`);
    return null;
  }
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { extra_bytes: number }).extra_bytes;
}

function memoryTable(): string {
  const mib = (b: number | null): string => (b === null ? '–' : (b / 2 ** 20).toFixed(2));
  const lines = [
    '### Attention peak extra memory, one forward (MiB beyond the output; fresh process, 1 thread, not causal)',
    '',
    '| N | fused | libtorch math, addon | PyTorch from Python |',
    '|---:|---:|---:|---:|',
  ];
  for (const n of [1024, 2048, 4096, 8192]) {
    const baselines = n <= 4096 || LARGE;
    lines.push(`| ${n} | ${mib(childMemory('fused', n))} | ${baselines ? mib(childMemory('math', n)) : '–'} | ${baselines ? mib(childMemory('python', n)) : '–'} |`);
  }
  return lines.join('\n') + '\n';
}

function decodeTable(): string {
  tn.setNumThreads(1, 1);
  const n = 4096;
  const cache = new tn.nn.KVCache({ batchSize: 1, numHeads: H, headDim: D, maxLength: n });
  const [q, k, v] = [0, 1, 2].map(() => tn.randn([1, H, n, D]));
  try {
    cache.append(k, v);
    const q1 = q.narrow(2, n - 1, 1);
    const step = timeMs(() => tn.noGrad(() => tn.tidy(() => void fused(q1, cache.keys(), cache.values(), true))), 50, 5);
    const full = timeMs(() => tn.noGrad(() => tn.tidy(() => void fused(q, k, v, true))), 3, 1);
    q1.dispose();
    return [
      '### Decoding against a KV cache (1 thread, B=1, H=8, d=64)',
      '',
      '| work | ms |',
      '|---|---:|',
      `| 1 new token against 4096 cached (Lq = 1, cache views) | ${step.toFixed(3)} |`,
      `| recomputing all 4096 queries, causal | ${full.toFixed(1)} |`,
      '',
    ].join('\n');
  } finally {
    cache.dispose();
    tn.dispose([q, k, v]);
  }
}

/** Runs the attention benchmark: timings at 1 and 2 threads, memory, decoding. */
export function attention(): string {
  const previous = tn.getNumThreads();
  try {
    return [timingTable(1), timingTable(2), memoryTable(), decodeTable()].join('\n');
  } finally {
    tn.setNumThreads(previous);
  }
}
