/**
 * bench/overhead: per-op call overhead, Node vs Python, same libtorch, same threads.
 *  - `a.add(b)` on 1-element tensors (result freed each time: dispose() in Node,
 *    refcounting in Python);
 *  - a 20-op elementwise chain, freed by one tidy scope per chain;
 *  - 10 mixed small ops (exp, sum, transpose, relu, reshape, tanh, mean, softmax, matmul,
 *    unsqueeze) on a 4x4 tensor, which take libtorch's full path.
 */
import * as tn from '../lib';
import { median, runPython, Row } from './util';

function timeAdd(iters: number): number {
  const a = tn.ones([1]);
  const b = tn.ones([1]);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) a.add(b).dispose();
    runs.push(Number(process.hrtime.bigint() - t) / iters / 1000);
  }
  tn.dispose([a, b]);
  return median(runs);
}

function timeChain(iters: number): number {
  const a = tn.ones([1]);
  const b = tn.full([1], 1.0001);
  const n = Math.floor(iters / 20);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      tn.tidy(() => {
        let x = a;
        for (let k = 0; k < 5; k++) x = x.add(b).mul(b).sub(b).div(b);
      });
    }
    runs.push(Number(process.hrtime.bigint() - t) / (n * 20) / 1000);
  }
  tn.dispose([a, b]);
  return median(runs);
}

function timeMixed(iters: number): number {
  const a = tn.randn([4, 4]);
  const n = Math.floor(iters / 10);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      tn.tidy(() => {
        a.exp();
        a.sum(1);
        a.transpose(0, 1);
        a.relu();
        a.reshape(16);
        a.tanh();
        a.mean();
        a.softmax(-1);
        a.matmul(a);
        a.unsqueeze(0);
      });
    }
    runs.push(Number(process.hrtime.bigint() - t) / (n * 10) / 1000);
  }
  a.dispose();
  return median(runs);
}

/** Runs the overhead benchmark at `threads` threads on both sides. */
export function overhead(threads = 1, iters = 200000): Row[] {
  tn.setNumThreads(threads, threads);
  const py = runPython<{ add_us: number; chain_us: number; mixed_us: number }>('overhead.py', [String(threads), String(iters)], threads);
  const node = { add: timeAdd(iters), chain: timeChain(iters), mixed: timeMixed(iters) };
  return [
    { case: 'a.add(b), 1 element', node: node.add, python: py.add_us },
    { case: '20-op chain, per op', node: node.chain, python: py.chain_us },
    { case: '10 mixed ops on 4x4, per op', node: node.mixed, python: py.mixed_us },
  ];
}
