/**
 * BatchScheduler: continuous batching over one model and one slotted KV cache.
 *
 * Each running request owns a slot of a cache allocated once for `maxBatch` rows. A step
 * (1) decodes one token for every running request in ONE forward pass of shape (B, 1) — rows
 * sit at different lengths, which the model handles with per-row positions and key-padding
 * lengths — then (2) admits waiting requests into free slots, prefilling each prompt. Requests
 * therefore join and leave between steps, and a long generation never holds up a short one.
 *
 * Synchronous and single-threaded by design: the Engine runs it inside a worker thread so the
 * HTTP event loop never waits on the model. Usable directly for in-process batching.
 */
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import { tidy } from '../memory';
import type { Tensor } from '../tensor';
import { sampleRow, seededRandom } from '../models/sampling';
import { StopMatcher } from './stop_matcher';
import type { FinishReason, GenerationEvent, GenerationRequest, StepStats } from './types';

/** The slotted KV cache a {@link CachedDecoder} creates (tn.models.GPTCache satisfies it). */
export interface DecoderCache {
  /** Tokens held by a slot. */
  length(slot: number): number;
  /** Empties a slot for a new request. */
  reset(slot: number): void;
  /** Moves a sequence to another slot (used to keep running requests in slots 0…B−1). */
  moveSlot(from: number, to: number): void;
  /** Frees the cache's tensors. */
  dispose(): void;
}

/** A causal LM that decodes against a slotted cache of type C (tn.models.GPT with GPTCache satisfies it). */
export interface CachedDecoder<C extends DecoderCache = DecoderCache> {
  createCache(opts: { maxBatch: number; maxLength: number }): C;
  forward(idx: Tensor, opts: { cache: C; slots: number[] }): { logits: Tensor };
}

/** Text ↔ token ids (tn.tokenizers' tokenizers satisfy it). */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** Options of {@link BatchScheduler}. */
export interface BatchSchedulerOptions {
  /** Requests decoded together at most (cache rows). 1 = one request at a time. */
  maxBatch: number;
  /** Cache capacity per request in tokens: the model's context (prompt + completion). */
  maxLength: number;
  /** Token that ends a generation with finish reason 'stop' (none by default). */
  eosTokenId?: number;
}

/** A running or waiting request with its decoding state. */
interface Running {
  req: GenerationRequest;
  slot: number;
  random: () => number;
  generated: number[];
  emittedChars: number;
  stop: StopMatcher;
  last: number;
  submittedAt: number;
}

/** Continuous-batching scheduler; see the module documentation. */
export class BatchScheduler<C extends DecoderCache = DecoderCache> {
  private readonly cache: C;
  private readonly freeSlots: number[];
  private readonly waiting: Running[] = [];
  private readonly running = new Map<number, Running>();
  private readonly events: GenerationEvent[] = [];

  constructor(
    private readonly model: CachedDecoder<C>,
    private readonly tokenizer: TextTokenizer,
    private readonly opts: BatchSchedulerOptions,
  ) {
    this.cache = model.createCache({ maxBatch: opts.maxBatch, maxLength: opts.maxLength });
    // Lowest slot first, so a lightly loaded server decodes a contiguous prefix of the cache.
    this.freeSlots = Array.from({ length: opts.maxBatch }, (_, i) => opts.maxBatch - 1 - i);
  }

  /** True when nothing waits and nothing runs. */
  get idle(): boolean {
    return this.waiting.length === 0 && this.running.size === 0;
  }

  /** Requests waiting for a slot. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Requests holding a slot. */
  get active(): number {
    return this.running.size;
  }

  /** Queues a request; it starts at the next step with a free slot. */
  submit(req: GenerationRequest): void {
    this.waiting.push({
      req, slot: -1, random: seededRandom(req.seed), generated: [], emittedChars: 0,
      stop: new StopMatcher(req.stop), last: -1, submittedAt: Date.now(),
    });
  }

  /** Drops a request (client gone, timeout): its slot is free for the next step. */
  cancel(id: number): void {
    const w = this.waiting.findIndex((r) => r.req.id === id);
    if (w >= 0) this.finish(this.waiting.splice(w, 1)[0], 'cancelled');
    const r = this.running.get(id);
    if (r) this.finish(r, 'cancelled');
  }

  /**
   * Runs one step (a batched decode, then admissions) and returns the events it produced.
   * Does nothing when idle.
   */
  step(): { events: GenerationEvent[]; stats: StepStats } {
    const t0 = performance.now();
    let tokens = 0;
    const rows = [...this.running.values()].sort((a, b) => a.slot - b.slot); // slots 0…B−1: cache views, no gather
    if (rows.length > 0) {
      tokens += rows.length;
      this.guard(rows, () => {
        const logits = this.forward(rows.map((r) => r.last), rows.map((r) => r.slot), rows.length, 1);
        const vocab = logits.length / rows.length;
        rows.forEach((r, b) => this.accept(r, sampleRow(logits, b * vocab, vocab, r.req, r.random)));
      });
    }
    this.compact();
    let admitted = 0;
    while (this.freeSlots.length > 0 && this.waiting.length > 0) {
      const r = this.waiting.shift()!;
      r.slot = this.freeSlots.pop()!;
      this.cache.reset(r.slot);
      this.running.set(r.req.id, r);
      this.events.push({ id: r.req.id, kind: 'start', queuedMs: Date.now() - r.submittedAt });
      admitted++;
      tokens++;
      this.guard([r], () => {
        const logits = this.forward(r.req.promptIds, [r.slot], 1, r.req.promptIds.length);
        const vocab = logits.length / r.req.promptIds.length;
        this.accept(r, sampleRow(logits, logits.length - vocab, vocab, r.req, r.random));
      });
    }
    const events = this.events.splice(0);
    return { events, stats: { batchSize: rows.length, admitted, queueDepth: this.waiting.length, tokens, ms: performance.now() - t0 } };
  }

  /**
   * Keeps running requests in the lowest slots: while a free slot lies below an occupied one,
   * the highest request moves down (one copy of its cached keys/values). Requests that end
   * leave holes; without this the batched step would gather cache rows every step.
   */
  private compact(): void {
    this.freeSlots.sort((a, b) => b - a); // lowest free slot last
    for (;;) {
      const lowestFree = this.freeSlots[this.freeSlots.length - 1];
      let top: Running | undefined;
      for (const r of this.running.values()) if (!top || r.slot > top.slot) top = r;
      if (lowestFree === undefined || !top || top.slot < lowestFree) return;
      this.freeSlots.pop();
      this.cache.moveSlot(top.slot, lowestFree);
      this.freeSlots.push(top.slot);
      this.freeSlots.sort((a, b) => b - a);
      top.slot = lowestFree;
    }
  }

  /** Frees the cache. */
  dispose(): void {
    this.cache.dispose();
  }

  /** One forward pass of (B, T) tokens; returns the logits as a host array (B·T·V). */
  private forward(ids: number[], slots: number[], batch: number, time: number): Float32Array {
    return tidy(() =>
      noGrad(() => {
        const idx = tensor(ids, { dtype: 'int64' }).reshape(batch, time);
        const { logits } = this.model.forward(idx, { cache: this.cache, slots });
        return logits.to('float32').contiguous().toTypedArray() as Float32Array;
      }),
    );
  }

  /** Runs model work for some requests; a failure ends them (with its message), not the server. */
  private guard(rows: Running[], work: () => void): void {
    try {
      work();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const r of rows) if (this.running.has(r.req.id)) this.finish(r, 'error', message);
    }
  }

  /** Takes a sampled token: emits its text, or ends the request. */
  private accept(r: Running, token: number): void {
    if (token === this.opts.eosTokenId) return this.finish(r, 'stop');
    r.generated.push(token);
    r.last = token;
    // Decode the whole completion and emit what is new: multi-token characters (byte-level BPE)
    // come out whole; an incomplete UTF-8 sequence (U+FFFD at the end) waits for its next byte.
    let text = this.tokenizer.decode(r.generated);
    if (text.endsWith('\uFFFD')) text = text.slice(0, -1);
    const delta = text.slice(r.emittedChars);
    r.emittedChars = Math.max(r.emittedChars, text.length);
    const { emit, stopped } = r.stop.push(delta);
    if (emit.length > 0) this.events.push({ id: r.req.id, kind: 'text', text: emit, tokens: r.generated.length });
    if (stopped) return this.finish(r, 'stop');
    if (r.generated.length >= r.req.maxTokens || this.cache.length(r.slot) + 1 > this.opts.maxLength) this.finish(r, 'length');
  }

  /** Ends a request: releases held-back text (unless stopped), frees its slot, reports usage. */
  private finish(r: Running, reason: FinishReason, message?: string): void {
    if (reason === 'length') {
      const rest = r.stop.flush();
      if (rest.length > 0) this.events.push({ id: r.req.id, kind: 'text', text: rest, tokens: r.generated.length });
    }
    if (this.running.delete(r.req.id)) {
      this.freeSlots.push(r.slot);
      this.freeSlots.sort((a, b) => b - a);
    }
    const usage = { promptTokens: r.req.promptIds.length, completionTokens: r.generated.length };
    this.events.push({ id: r.req.id, kind: 'end', finishReason: reason, usage, ...(message ? { message } : {}) });
  }
}
