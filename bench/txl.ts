/**
 * bench/txl: Transformer-XL (nLayer 4, dModel 256, nHead 4, dHead 64, dInner 1024, tgtLen 128,
 * memLen 128, nToken 1000, no adaptive softmax) against the same model from Python on this
 * libtorch (bench/python/txl.py: test/reference/txl_ref.py, the official semantics op for op).
 *
 *   evaluation   consecutive 128-token segments with memory, no gradient, batch 1 and 8 → tokens/s
 *   train step   forward over a segment with memory, mean loss, backward, Adam step, batch 8
 *   generation   next-token latency with memory (one token against memLen = context cached states)
 *                vs recomputing the whole context without memory (a vanilla Transformer's way), at
 *                contexts 512 and 2048 — our implementation on both sides of that ratio
 */
import * as tn from '../lib';
import { runPython, table, timeMs } from './util';
import type { Row } from './util';

const CFG = {
  model: { nToken: 1000, nLayer: 4, nHead: 4, dModel: 256, dHead: 64, dInner: 1024, tgtLen: 128, memLen: 128 },
  evalBatches: [1, 8],
  trainBatch: 8,
  reps: 5,
};

function evalAndTrain(threads: number): { rows: Row[]; notes: string[] } {
  tn.setNumThreads(threads, threads);
  const py = runPython<{ rows: { case: string; ms: number }[] }>('txl.py', [String(threads), JSON.stringify(CFG)], threads);
  const pyMs = (c: string): number => py.rows.find((r) => r.case === c)!.ms;
  tn.manualSeed(0);
  const model = new tn.txl.MemTransformerLM(CFG.model);
  const T = CFG.model.tgtLen;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    model.eval();
    for (const bsz of CFG.evalBatches) {
      const data = tn.randint(0, CFG.model.nToken, [T, bsz]);
      const state = { mems: model.initMems(bsz) };
      tn.noGrad(() => tn.tidy(() => void model.forwardSegment(data, data, state)));
      const ms = timeMs(() => tn.noGrad(() => tn.tidy(() => void model.forwardSegment(data, data, state))), CFG.reps);
      const p = pyMs(`eval b${bsz}`);
      rows.push({ case: `evaluation segment, batch ${bsz}, ${threads} thread(s)`, node: ms, python: p });
      notes.push(`eval batch ${bsz}, ${threads} thread(s): ${((T * bsz * 1000) / ms).toFixed(0)} tokens/s (Python ${((T * bsz * 1000) / p).toFixed(0)}, ${(p / ms).toFixed(2)}x)`);
      tn.dispose([data, ...state.mems]);
    }
    model.train();
    const bsz = CFG.trainBatch;
    const data = tn.randint(0, CFG.model.nToken, [T, bsz]);
    const state = { mems: model.initMems(bsz) };
    tn.noGrad(() => tn.tidy(() => void model.forwardSegment(data, data, state)));
    const mems = state.mems;
    const opt = new tn.optim.Adam(model.parameters(), { lr: 1e-4 });
    const ms = timeMs(() => tn.tidy(() => {
      opt.zeroGrad();
      const [loss, ...fresh] = model.forward(data, data, ...mems);
      tn.dispose(fresh);
      loss.mean().backward();
      opt.step();
    }), CFG.reps);
    const p = pyMs('train');
    rows.push({ case: `training step (segment with memory, Adam), batch ${bsz}, ${threads} thread(s)`, node: ms, python: p });
    notes.push(`train batch ${bsz}, ${threads} thread(s): ${(p / ms).toFixed(2)}x Python's steps/s`);
    tn.dispose([data, ...mems]);
  } finally {
    model.dispose();
  }
  return { rows, notes };
}

/** Next-token latency with memory vs recomputing the context, ours on both sides. */
function generation(threads: number): string[] {
  tn.setNumThreads(threads, threads);
  const out: string[] = [];
  for (const context of [512, 2048]) {
    tn.manualSeed(0);
    const model = new tn.txl.MemTransformerLM({ ...CFG.model, memLen: context }).eval();
    const ctx = tn.randint(0, CFG.model.nToken, [context, 1]);
    const one = tn.randint(0, CFG.model.nToken, [1, 1]);
    // Memory: states of the last `context` tokens cached; each new token is a 1-token segment.
    const state: tn.txl.TXLState = { mems: model.initMems(1) };
    tn.noGrad(() => tn.tidy(() => void model.forwardSegment(ctx, ctx, state)));
    // As tn.txl.generate runs it: a one-token segment against the memory, reusing its keys/values.
    const withMem = timeMs(() => tn.noGrad(() => tn.tidy(() => void model.forwardSegment(one, one, state))), 20);
    const fresh = new tn.txl.MemTransformerLM({ ...CFG.model, memLen: 0 }).eval();
    fresh.loadStateDict(tn.tidy(() => model.stateDict()));
    const recompute = timeMs(() => tn.noGrad(() => tn.tidy(() => void fresh.forward(ctx, ctx.narrow(0, context - 1, 1)))), 3);
    out.push(`context ${context}: ${withMem.toFixed(2)} ms per token with memory vs ${recompute.toFixed(1)} ms recomputing the context (${(recompute / withMem).toFixed(0)}x)`);
    tn.dispose([ctx, one, ...state.mems, ...(state.kv ?? []).flatMap((e) => [e.k, e.v])]);
    model.dispose();
    fresh.dispose();
  }
  return out;
}

/** Transformer-XL evaluation, training and generation, 1 and 2 threads. */
export function txl(): string {
  const previous = tn.getNumThreads();
  try {
    const one = evalAndTrain(1);
    const two = evalAndTrain(2);
    const gen = generation(1);
    return [
      table(`Transformer-XL L4 d256 H4 dh64 inner 1024, tgt 128, mem 128 (ms per segment or step, median of ${CFG.reps})`, 'ms', [...one.rows, ...two.rows]),
      [...one.notes, ...two.notes].join('; ') + '.',
      '',
      `Next-token generation, 1 thread: ${gen.join('; ')}.`,
      '',
    ].join('\n');
  } finally {
    tn.setNumThreads(previous);
  }
}
