/**
 * TensorDataset and DataLoader, as torch.utils.data: a dataset of aligned tensors indexed
 * along their first dimension, and an iterable over shuffled (seeded, a new order each epoch)
 * mini-batches. Batches are fresh tensors: read them inside `tn.tidy` or dispose them.
 *
 * @example
 * const loader = new tn.data.DataLoader(new tn.data.TensorDataset(images, labels), { batchSize: 64, shuffle: true, seed: 0 });
 * for (let epoch = 0; epoch < 3; epoch++) for (const [x, y] of loader.epoch(epoch)) tn.tidy(() => step(x, y));
 */
import { tensor } from '../creation';
import { checkBool, checkInt, typeError } from '../errors';
import { Tensor } from '../tensor';
import { randperm } from './random';

/** Aligned tensors indexed along dimension 0. */
export class TensorDataset {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new TypeError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) typeError(`TensorDataset: tensors[${i}]`, 'a Tensor', t);
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensors[${i}]: expected at least one dimension, but got a scalar`);
    });
    const n = tensors[0].shape[0];
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) throw new RangeError(`TensorDataset: expected tensors of the same length, but tensors[0] has ${n} and tensors[${i}] has ${t.shape[0]}`);
    });
    this.tensors = tensors;
  }

  /** Number of samples. */
  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** The samples at `indices`, one tensor per dataset tensor (new tensors). */
  gather(indices: Int32Array | readonly number[]): Tensor[] {
    const index = tensor(BigInt64Array.from(Array.from(indices, (i) => BigInt(i))));
    try {
      return this.tensors.map((t) => t.indexSelect(0, index));
    } finally {
      index.dispose();
    }
  }
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  batchSize: number;
  /** A new seeded order each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the order (default 0). */
  seed?: number;
  /** Skip a last incomplete batch (default false). */
  dropLast?: boolean;
}

/** Mini-batches of a {@link TensorDataset}; see the module documentation. */
export class DataLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;

  constructor(
    readonly dataset: TensorDataset,
    opts: DataLoaderOptions,
  ) {
    if (!(dataset instanceof TensorDataset)) typeError('DataLoader: dataset', 'a TensorDataset', dataset);
    this.batchSize = checkInt('DataLoader: batchSize', opts?.batchSize, 1);
    this.shuffle = checkBool('DataLoader: shuffle', opts.shuffle ?? false);
    this.seed = checkInt('DataLoader: seed', opts.seed ?? 0, 0);
    this.dropLast = checkBool('DataLoader: dropLast', opts.dropLast ?? false);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The batches of epoch `epoch` (its order depends only on seed and epoch). */
  *epoch(epoch = 0): Generator<Tensor[]> {
    const n = this.dataset.length;
    const order = this.shuffle ? randperm(n, this.seed * 100_003 + epoch) : Int32Array.from({ length: n }, (_, i) => i);
    for (let b = 0; b < this.length; b++) yield this.dataset.gather(order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize)));
  }

  /** Epoch 0's batches. */
  [Symbol.iterator](): Generator<Tensor[]> {
    return this.epoch(0);
  }
}
