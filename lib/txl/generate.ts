/**
 * Text generation with Transformer-XL memory: the prompt runs once, in segments of tgtLen,
 * leaving the hidden states of its last memLen tokens as memory; then each new token is a
 * one-token segment that attends to that memory and extends it. The context a token sees is
 * the memory (memLen tokens per layer, and more through the layers' recurrence), never
 * recomputed — the evaluation speed-up of the paper. Sampling as tn.models (temperature,
 * top-k, top-p, stop tokens, seed).
 */
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import { dispose, tidy } from '../memory';
import { checkPrompt, resolveSampling, streamTokens } from '../models/generation';
import type { GenerateOptions, ResolvedSampling } from '../models/generation';
import { sampleRow } from '../models/sampling';
import type { MemTransformerLM, TXLState } from './modules/mem_transformer';

/**
 * Runs ids (one sequence) through the model with memory, reusing the memory's keys and values
 * (only the new tokens are projected); returns the last position's log-probs.
 */
function advance(model: MemTransformerLM, ids: readonly number[], state: TXLState): Float32Array {
  return noGrad(() =>
    tidy(() => {
      const { hidden, mems, kv } = model.hidden(tensor([...ids], { dtype: 'int64' }).view(ids.length, 1), state.mems, { keyValues: state.kv ?? [] });
      model.setState(state, mems, kv);
      return model.crit.logProbs(hidden.select(0, ids.length - 1)).to('float32').contiguous().toTypedArray() as Float32Array;
    }),
  );
}

function* steps(model: MemTransformerLM, promptIds: readonly number[], o: ResolvedSampling): Generator<number> {
  const wasTraining = model.training;
  model.eval();
  const state: TXLState = { mems: model.initMems(1) };
  try {
    const seg = model.config.tgtLen ?? Math.max(1, model.config.memLen);
    let logProbs: Float32Array | null = null;
    for (let at = 0; at < promptIds.length; at += seg) logProbs = advance(model, promptIds.slice(at, at + seg), state);
    for (let n = 0; n < o.maxNewTokens; n++) {
      const id = sampleRow(logProbs!, 0, logProbs!.length, o, o.random);
      if (o.stop.has(id)) return;
      yield id;
      if (n + 1 < o.maxNewTokens) logProbs = advance(model, [id], state);
    }
  } finally {
    dispose([state.mems, (state.kv ?? []).flatMap((e) => [e.k, e.v])]);
    model.train(wasTraining);
  }
}

/** Generates token ids synchronously. */
export function generateSync(model: MemTransformerLM, promptIds: readonly number[], opts: GenerateOptions = {}): number[] {
  checkPrompt('txl.generate', promptIds, model.config.nToken);
  return [...steps(model, promptIds, resolveSampling('txl.generate', opts))];
}

/** Streams token ids, yielding to the event loop between tokens. */
export function generate(model: MemTransformerLM, promptIds: readonly number[], opts: GenerateOptions = {}): AsyncGenerator<number> {
  checkPrompt('txl.generate', promptIds, model.config.nToken);
  return streamTokens(steps(model, promptIds, resolveSampling('txl.generate', opts)));
}
