/**
 * Autoregressive generation with a KV cache: the prompt is run once (prefill), then each new
 * token costs one single-row forward pass against the cache. Sampling happens on the host
 * (lib/models/sampling.ts) with a seeded stream, so a seed reproduces a generation exactly.
 */
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import type { Tensor } from '../tensor';
import type { GPTCache } from './gpt_cache';
import { sampleRow, seededRandom } from './sampling';

/** Options of GPT.generate / generateSync. */
export interface GenerateOptions {
  /** Tokens to generate at most (default 64); generation also ends when the context is full. */
  maxNewTokens?: number;
  /** 0 = greedy; default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all; default 0). */
  topK?: number;
  /** Nucleus sampling mass (1 = off; default 1). */
  topP?: number;
  /** Token ids that end generation (not returned). */
  stopTokens?: readonly number[];
  /** Seed of the sampling stream (default random). */
  seed?: number;
}

/** The model surface generation needs (GPT implements it). */
export interface CachedLM {
  readonly config: { blockSize: number; vocabSize: number };
  createCache(opts: { maxBatch: number; maxLength: number }): GPTCache;
  forward(idx: Tensor, opts: { cache: GPTCache }): { logits: Tensor };
}

/** Checked sampling options, with the seeded stream. */
export interface ResolvedSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  stop: Set<number>;
  random: () => number;
}

/** Checks generation options (shared by every model's generate). */
export function resolveSampling(where: string, o: GenerateOptions): ResolvedSampling {
  const topP = checkNumber(`${where}: topP`, o.topP ?? 1);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`${where}: topP: expected a value in (0, 1], but got ${topP}`);
  const temperature = checkNumber(`${where}: temperature`, o.temperature ?? 1);
  if (temperature < 0) throw new RangeError(`${where}: temperature: expected a value ≥ 0, but got ${temperature}`);
  return {
    maxNewTokens: checkInt(`${where}: maxNewTokens`, o.maxNewTokens ?? 64, 0),
    temperature,
    topK: checkInt(`${where}: topK`, o.topK ?? 0, 0),
    topP,
    stop: new Set(o.stopTokens ?? []),
    random: seededRandom(o.seed ?? Math.floor(Math.random() * 2 ** 32)),
  };
}

/** Checks prompt ids against a vocabulary. */
export function checkPrompt(where: string, promptIds: readonly number[], vocabSize: number): void {
  if (!Array.isArray(promptIds) || promptIds.length === 0) typeError(`${where}: promptIds`, 'a non-empty array of token ids', promptIds);
  promptIds.forEach((id, i) => checkInt(`${where}: promptIds[${i}]`, id, 0, vocabSize - 1));
}

type Resolved = ResolvedSampling;

function resolve(model: CachedLM, promptIds: readonly number[], o: GenerateOptions): Resolved {
  checkPrompt('generate', promptIds, model.config.vocabSize);
  if (promptIds.length >= model.config.blockSize) throw new RangeError(`generate: expected a prompt shorter than blockSize ${model.config.blockSize}, but got ${promptIds.length} tokens`);
  return resolveSampling('generate', o);
}

/** One forward step: logits of the last position, on the host. */
function nextLogits(model: CachedLM, cache: GPTCache, ids: readonly number[]): Float32Array {
  return tidy(() =>
    noGrad(() => {
      const { logits } = model.forward(tensor([...ids], { dtype: 'int64' }).view(1, ids.length), { cache });
      return logits.select(1, ids.length - 1).to('float32').contiguous().toTypedArray() as Float32Array;
    }),
  );
}

/** Yields new token ids one at a time; the cache is freed when the iteration ends. */
function* steps(model: CachedLM, promptIds: readonly number[], o: Resolved): Generator<number> {
  const room = model.config.blockSize - promptIds.length;
  const cache = model.createCache({ maxBatch: 1, maxLength: model.config.blockSize });
  try {
    let logits = nextLogits(model, cache, promptIds);
    for (let n = 0; n < Math.min(o.maxNewTokens, room); n++) {
      const id = sampleRow(logits, 0, logits.length, o, o.random);
      if (o.stop.has(id)) return;
      yield id;
      if (n + 1 < Math.min(o.maxNewTokens, room)) logits = nextLogits(model, cache, [id]);
    }
  } finally {
    cache.dispose();
  }
}

/** Generates synchronously; see GPT.generateSync. */
export function generateSync(model: CachedLM, promptIds: readonly number[], opts: GenerateOptions = {}): number[] {
  return [...steps(model, promptIds, resolve(model, promptIds, opts))];
}

/** Streams token ids, yielding to the event loop between tokens; see GPT.generate. */
export function generate(model: CachedLM, promptIds: readonly number[], opts: GenerateOptions = {}): AsyncGenerator<number> {
  return streamTokens(steps(model, promptIds, resolve(model, promptIds, opts)));
}

/** Turns a synchronous token generator into an async one that yields to the event loop between tokens. */
export async function* streamTokens(it: Generator<number>): AsyncGenerator<number> {
  try {
    for (const id of it) {
      yield id;
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    it.return(undefined);
  }
}
