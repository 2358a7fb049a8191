/**
 * KVCache: preallocated keys and values for incremental decoding.
 *
 * Holds k and v of shape (B, H, maxLength, d) allocated once; `append` writes new steps in
 * place after the filled part (no reallocation, no copy of the prefix), and `keys()` /
 * `values()` are views (B, H, length, d) of the filled part, which the attention kernel reads
 * directly through their strides. Decoding one token is then one Lq = 1 attention call
 * against the cache, O(length · d), instead of re-running the prefix. With
 * `isCausal: true` the kernel's default bottom-right alignment puts the new queries at the
 * end of the cache, so the same call is right for one token or for a chunk of several.
 *
 * Inference only: appends are not recorded by autograd.
 *
 * @example
 * const cache = new tn.nn.KVCache({ batchSize: 1, numHeads: 8, headDim: 64, maxLength: 4096 });
 * cache.append(kPrompt, vPrompt);                      // (1, 8, T, 64)
 * for (let step = 0; step < 32; step++) {
 *   cache.append(kNew, vNew);                          // (1, 8, 1, 64)
 *   const out = tn.tidy(() => tn.nn.functional.scaledDotProductAttention(
 *     qNew, cache.keys(), cache.values(), { isCausal: true }));   // (1, 8, 1, 64)
 * }
 */
import { noGrad } from '../autograd';
import { zeros } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { isFloating } from '../dtype';
import { checkInt, typeError } from '../errors';
import { keep } from '../memory';
import { Tensor } from '../tensor';

/** Options of {@link KVCache}. */
export interface KVCacheOptions {
  /** B. */
  batchSize: number;
  /** H: key/value heads (fewer than the query heads with grouped-query attention). */
  numHeads: number;
  /** d: the key (and, by default, value) head dimension. */
  headDim: number;
  /** dv: the value head dimension (default headDim). */
  valueDim?: number;
  /** Capacity in steps. */
  maxLength: number;
  /** Default float32. */
  dtype?: DType;
  /** Default 'cpu'. */
  device?: Device;
}

/** A preallocated key/value cache; see the module documentation. */
export class KVCache {
  readonly batchSize: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly valueDim: number;
  readonly maxLength: number;
  private readonly k: Tensor;
  private readonly v: Tensor;
  private filled = 0;
  private disposed = false;

  constructor(opts: KVCacheOptions) {
    if (opts === null || typeof opts !== 'object') typeError('KVCache', 'options { batchSize, numHeads, headDim, maxLength }', opts);
    this.batchSize = checkInt('KVCache: batchSize', opts.batchSize, 1);
    this.numHeads = checkInt('KVCache: numHeads', opts.numHeads, 1);
    this.headDim = checkInt('KVCache: headDim', opts.headDim, 1);
    this.valueDim = checkInt('KVCache: valueDim', opts.valueDim ?? opts.headDim, 1);
    this.maxLength = checkInt('KVCache: maxLength', opts.maxLength, 1);
    const dtype = opts.dtype ?? 'float32';
    if (!isFloating(dtype)) typeError('KVCache: dtype', 'a floating dtype', dtype);
    const o = { dtype, device: opts.device };
    this.k = keep(zeros([this.batchSize, this.numHeads, this.maxLength, this.headDim], o));
    this.v = keep(zeros([this.batchSize, this.numHeads, this.maxLength, this.valueDim], o));
  }

  /** Steps filled so far. */
  get length(): number {
    return this.filled;
  }

  /** Steps still free. */
  get remaining(): number {
    return this.maxLength - this.filled;
  }

  private alive(where: string): void {
    if (this.disposed) throw new Error(`KVCache.${where}: the cache has been disposed`);
  }

  /**
   * Writes k (B, H, T, d) and v (B, H, T, dv) after the filled part, in place, and returns
   * the new length. Throws a RangeError when the cache would overflow.
   */
  append(k: Tensor, v: Tensor): number {
    this.alive('append');
    if (!(k instanceof Tensor)) typeError('KVCache.append: k', 'a Tensor', k);
    if (!(v instanceof Tensor)) typeError('KVCache.append: v', 'a Tensor', v);
    const ks = k.shape;
    const vs = v.shape;
    const B = this.batchSize;
    const H = this.numHeads;
    const T = ks[2];
    if (ks.length !== 4 || ks[0] !== B || ks[1] !== H || ks[3] !== this.headDim) {
      throw new RangeError(`KVCache.append: expected k of shape [${B}, ${H}, T, ${this.headDim}], but got [${ks.join(', ')}]`);
    }
    if (vs.length !== 4 || vs[0] !== B || vs[1] !== H || vs[2] !== T || vs[3] !== this.valueDim) {
      throw new RangeError(`KVCache.append: expected v of shape [${B}, ${H}, ${T}, ${this.valueDim}], but got [${vs.join(', ')}]`);
    }
    if (this.filled + T > this.maxLength) {
      throw new RangeError(`KVCache.append: expected at most ${this.remaining} more steps (maxLength ${this.maxLength}, length ${this.filled}), but got ${T}`);
    }
    if (T === 0) return this.filled;
    noGrad(() => {
      const kd = this.k.narrow(2, this.filled, T);
      const vd = this.v.narrow(2, this.filled, T);
      try {
        kd.copy_(k);
        vd.copy_(v);
      } finally {
        kd.dispose();
        vd.dispose();
      }
    });
    this.filled += T;
    return this.filled;
  }

  /** A view (B, H, length, d) of the cached keys (a new handle: dispose it, or use tidy). */
  keys(): Tensor {
    this.alive('keys');
    return this.k.narrow(2, 0, this.filled);
  }

  /** A view (B, H, length, dv) of the cached values (a new handle: dispose it, or use tidy). */
  values(): Tensor {
    this.alive('values');
    return this.v.narrow(2, 0, this.filled);
  }

  /** Empties the cache (the memory is kept and overwritten by later appends). */
  reset(): void {
    this.alive('reset');
    this.filled = 0;
  }

  /** Keeps only the first `length` steps (e.g. to drop rejected speculative tokens). */
  truncate(length: number): void {
    this.alive('truncate');
    this.filled = checkInt('KVCache.truncate: length', length, 0, this.filled);
  }

  /** Frees the cache's memory. Safe to call twice; views taken earlier stay valid. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.k.dispose();
    this.v.dispose();
  }

  /** So that `using cache = new KVCache(...)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
