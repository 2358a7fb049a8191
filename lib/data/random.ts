/**
 * Seeded randomness for data pipelines: permutations, splits and per-step streams that depend
 * only on (seed, step), so a run resumed at step k draws exactly what an uninterrupted run
 * draws — no generator state needs saving.
 */
import { checkInt } from '../errors';
import { seededRandom } from '../models/sampling';

/** A uniform [0, 1) stream for (seed, step): independent streams for different steps. */
export function streamFor(seed: number, step = 0): () => number {
  // splitmix32-style mixing of the pair into one 32-bit seed.
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((step >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return seededRandom((h ^ (h >>> 16)) >>> 0);
}

/** A permutation of 0 … n−1 (Fisher–Yates) drawn from `seed`. */
export function randperm(n: number, seed: number): Int32Array {
  checkInt('randperm: n', n, 0);
  const random = streamFor(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Splits 0 … n−1 into shuffled parts of the given fractions (summing to 1) or counts (summing
 * to n), as torch.utils.data.random_split; the last part takes any rounding remainder.
 */
export function randomSplitIndices(n: number, lengths: readonly number[], seed: number): Int32Array[] {
  checkInt('randomSplit: length of the dataset', n, 0);
  if (!Array.isArray(lengths) || lengths.length === 0) throw new TypeError(`randomSplit: expected an array of fractions or counts, but got ${String(lengths)}`);
  const fractions = lengths.every((l) => l >= 0 && l <= 1) && Math.abs(lengths.reduce((a, b) => a + b, 0) - 1) < 1e-9;
  let counts: number[];
  if (fractions) {
    counts = lengths.map((f) => Math.floor(f * n));
    counts[counts.length - 1] += n - counts.reduce((a, b) => a + b, 0);
  } else {
    counts = lengths.map((l, i) => checkInt(`randomSplit: lengths[${i}]`, l, 0));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total !== n) throw new RangeError(`randomSplit: expected lengths summing to the dataset's ${n} (or fractions summing to 1), but got ${total}`);
  }
  const perm = randperm(n, seed);
  const out: Int32Array[] = [];
  let at = 0;
  for (const c of counts) {
    out.push(perm.slice(at, at + c));
    at += c;
  }
  return out;
}
