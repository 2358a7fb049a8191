/**
 * GPTCache: a slotted key/value cache for a GPT, for one sequence or for continuous batching.
 *
 * Per layer, keys and values of shape (maxBatch, nHead, maxLength, headDim) are allocated once.
 * Each slot is an independent sequence with its own length: a server gives every running request
 * a slot, decodes all of them in one batched step although they sit at different positions, and
 * reuses a slot when its request ends (`reset`). Inference only (writes are not recorded by
 * autograd).
 */
import { noGrad } from '../autograd';
import { tensor, zeros } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt } from '../errors';
import { keep } from '../memory';
import { indexPut_ } from '../ops/indexing';
import type { Tensor } from '../tensor';

/** Sizes of a {@link GPTCache}. */
export interface GPTCacheOptions {
  /** Slots (sequences held at once). */
  maxBatch: number;
  /** Tokens per slot at most (≤ the model's blockSize). */
  maxLength: number;
}

/** A slotted KV cache; see the module documentation. Created by `GPT.createCache`. */
export class GPTCache {
  readonly maxBatch: number;
  readonly maxLength: number;
  /** Per layer: keys (maxBatch, nHead, maxLength, headDim). */
  readonly keys: Tensor[];
  /** Per layer: values (maxBatch, nHead, maxLength, headDim). */
  readonly values: Tensor[];
  private readonly lengths: number[];
  private disposed = false;

  /** @internal Use GPT.createCache. */
  constructor(layers: number, nHead: number, headDim: number, opts: GPTCacheOptions & { dtype?: DType; device?: Device }) {
    this.maxBatch = checkInt('createCache: maxBatch', opts.maxBatch, 1);
    this.maxLength = checkInt('createCache: maxLength', opts.maxLength, 1);
    const shape = [this.maxBatch, nHead, this.maxLength, headDim];
    const make = (): Tensor => keep(zeros(shape, { dtype: opts.dtype, device: opts.device }));
    this.keys = Array.from({ length: layers }, make);
    this.values = Array.from({ length: layers }, make);
    this.lengths = new Array<number>(this.maxBatch).fill(0);
  }

  /** Tokens held by `slot`. */
  length(slot: number): number {
    return this.lengths[this.checkSlot('length', slot)];
  }

  /** Empties `slot` (its old entries are simply overwritten later). */
  reset(slot: number): void {
    this.lengths[this.checkSlot('reset', slot)] = 0;
  }

  /** @internal Grows slots after a forward pass wrote `time` tokens into each. */
  advance(slots: readonly number[], time: number): void {
    for (const s of slots) this.lengths[s] += time;
  }

  /** @internal Writes one layer's new keys/values (B, H, T, hd) at each slot's current length. */
  write(layer: number, slots: readonly number[], k: Tensor, v: Tensor, contiguousFrom0: boolean, sameLength: boolean): void {
    const T = k.shape[2];
    noGrad(() => {
      if (contiguousFrom0 && sameLength) {
        // One copy for the whole batch: rows 0..B-1 at the same position.
        const at = this.lengths[slots[0]];
        this.keys[layer].narrow(0, 0, slots.length).narrow(2, at, T).copy_(k);
        this.values[layer].narrow(0, 0, slots.length).narrow(2, at, T).copy_(v);
        return;
      }
      if (T === 1) {
        // One scatter per tensor: row b's token goes to (slots[b], :, length[slots[b]]).
        const rows = tensor([...slots], { dtype: 'int64' });
        const at = tensor(slots.map((s) => this.lengths[s]), { dtype: 'int64' });
        indexPut_(this.keys[layer], [rows, ':', at], k.select(2, 0));
        indexPut_(this.values[layer], [rows, ':', at], v.select(2, 0));
        rows.dispose();
        at.dispose();
        return;
      }
      slots.forEach((s, b) => {
        const at = this.lengths[s];
        this.keys[layer].select(0, s).narrow(1, at, T).copy_(k.select(0, b));
        this.values[layer].select(0, s).narrow(1, at, T).copy_(v.select(0, b));
      });
    });
  }

  /**
   * Moves slot `from`'s sequence into slot `to` (which it replaces) and empties `from`: a
   * server compacts running requests into slots 0…B−1 this way, so a batched step reads the
   * cache through views instead of gathering rows.
   */
  moveSlot(from: number, to: number): void {
    this.checkSlot('moveSlot', from);
    this.checkSlot('moveSlot', to);
    if (from === to) return;
    const n = this.lengths[from];
    noGrad(() => {
      for (const t of [...this.keys, ...this.values]) {
        if (n > 0) t.select(0, to).narrow(1, 0, n).copy_(t.select(0, from).narrow(1, 0, n));
      }
    });
    this.lengths[to] = n;
    this.lengths[from] = 0;
  }

  /** Frees the cache's tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }

  /** @internal */
  checkSlot(where: string, slot: number): number {
    if (this.disposed) throw new Error(`GPTCache.${where}: the cache was disposed`);
    return checkInt(`GPTCache.${where}: slot`, slot, 0, this.maxBatch - 1);
  }
}
