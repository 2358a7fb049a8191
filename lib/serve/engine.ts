/**
 * Engine: continuous-batching text generation with the model on its own thread.
 *
 * The model and its BatchScheduler live in a worker_threads worker; the caller's thread only
 * tokenizes prompts, checks parameters and routes events, so an HTTP server built on it keeps
 * its event loop free. Usable from any HTTP framework (the bundled server is one user).
 *
 * @example
 * const engine = await tn.serve.Engine.start({ model: 'models/moby-gpt', maxBatch: 16 });
 * const gen = engine.generate('Call me Ishmael.', { maxTokens: 40, temperature: 0.8 });
 * for await (const text of gen) process.stdout.write(text);
 * console.log((await gen.result).usage);
 * await engine.close();
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Generation } from './generation';
import { loadTokenizer, resolveModelFiles } from './model_dir';
import type { ModelFiles } from './model_dir';
import type { FromWorker, ModelInfo, ToWorker, WorkerConfig } from './protocol';
import type { TextTokenizer } from './scheduler';
import type { GenerationEvent, SamplingParams, StepStats } from './types';
import { checkSampling } from './validate';

/** Options of {@link Engine.start}. */
export interface EngineOptions {
  /**
   * The model: a directory holding model.safetensors, config.json and tokenizer.json, a
   * .safetensors file with those two beside it, or the three paths.
   */
  model: string | ModelFiles;
  /** Requests decoded together (default 16). 1 = one request at a time. */
  maxBatch?: number;
  /** Requests allowed to wait for a slot; beyond it `generate` throws QueueFullError (default 64). */
  maxQueue?: number;
  /** libtorch threads of the model thread (default: the package default). */
  threads?: number;
}

/** Thrown by {@link Engine.generate} when maxBatch requests run and maxQueue wait (HTTP 429). */
export class QueueFullError extends Error {
  constructor(limit: number) {
    super(`the engine's queue is full (${limit} requests waiting); retry later`);
    this.name = 'QueueFullError';
  }
}

/** Thrown by {@link Engine.generate} after close() was called (HTTP 503). */
export class EngineClosedError extends Error {
  constructor() {
    super('the engine is shutting down and takes no new requests');
    this.name = 'EngineClosedError';
  }
}

/** Where the compiled worker script is: next to this file in dist/, or dist/ when running from TS sources. */
function workerScript(): string {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'lib', 'serve', 'worker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`Engine: the compiled worker script was not found (${here}); run \`npm run build:ts\``);
}

/** Continuous-batching engine; see the module documentation. */
export class Engine extends EventEmitter<{ step: [StepStats] }> {
  /** The loaded model's facts. */
  readonly info: ModelInfo;
  private readonly live = new Map<number, Generation>();
  private nextId = 1;
  private closing = false;
  private readonly exited: Promise<void>;
  private readonly drained: Array<() => void> = [];
  private closed: Promise<void> | null = null;
  private cancelling = false;

  private constructor(
    private readonly worker: Worker,
    info: ModelInfo,
    private readonly tokenizer: TextTokenizer,
    private readonly maxBatch: number,
    private readonly maxQueue: number,
  ) {
    super();
    this.info = info;
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'step') this.onStep(m.events, m.stats);
    });
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('error', (err) => this.failAll(err));
    worker.once('exit', () => this.failAll(new Error('the engine worker exited')));
  }

  /** Loads the model on a new worker thread; resolves once it can take requests. */
  static async start(opts: EngineOptions): Promise<Engine> {
    const maxBatch = opts.maxBatch ?? 16;
    const maxQueue = opts.maxQueue ?? 64;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`Engine: expected maxBatch a positive integer, but got ${maxBatch}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`Engine: expected maxQueue a non-negative integer, but got ${maxQueue}`);
    const files = typeof opts.model === 'string' ? resolveModelFiles(opts.model) : opts.model;
    const tokenizer = loadTokenizer(files.tokenizer); // fails fast, with the path, on the caller's thread
    const workerData: WorkerConfig = { files, maxBatch, threads: opts.threads };
    const worker = new Worker(workerScript(), { workerData });
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      worker.once('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve(m.info);
        else if (m.type === 'fatal') reject(new Error(`Engine: could not load the model ${files.weights}: ${m.message}`));
      });
      worker.once('error', reject);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new Engine(worker, info, tokenizer, maxBatch, maxQueue);
  }

  /** Requests running or waiting. */
  get inFlight(): number {
    return this.live.size;
  }

  /** Requests waiting for a slot (approximate: those beyond maxBatch in flight). */
  get queueDepth(): number {
    return Math.max(0, this.live.size - this.maxBatch);
  }

  /** Encodes text with the model's tokenizer. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /**
   * Starts a completion of `prompt`. Parameters are checked here (TypeError / RangeError
   * naming the parameter); QueueFullError when the queue is full; EngineClosedError after close().
   */
  generate(prompt: string, params: Partial<SamplingParams> = {}, opts: { signal?: AbortSignal } = {}): Generation {
    if (this.closing) throw new EngineClosedError();
    const sampling = checkSampling(params);
    if (typeof prompt !== 'string' || prompt.length === 0) throw new TypeError(`prompt: expected a non-empty string, but got ${typeof prompt === 'string' ? 'an empty string' : typeof prompt}`);
    const promptIds = this.tokenizer.encode(prompt);
    const ctx = this.info.contextLength;
    if (promptIds.length >= ctx) throw new RangeError(`prompt: expected fewer than ${ctx} tokens (the model's context), but got ${promptIds.length} tokens`);
    if (this.live.size >= this.maxBatch + this.maxQueue) throw new QueueFullError(this.maxQueue);
    const id = this.nextId++;
    const gen = new Generation(id, (i) => this.send({ type: 'cancel', id: i }));
    this.live.set(id, gen);
    if (opts.signal) {
      if (opts.signal.aborted) queueMicrotask(() => gen.cancel());
      else opts.signal.addEventListener('abort', () => gen.cancel(), { once: true });
    }
    this.send({ type: 'submit', req: { ...sampling, id, promptIds } });
    return gen;
  }

  /**
   * Stops taking requests (generate() then throws EngineClosedError), lets those in flight
   * finish, then stops the model thread. Resolves once the thread has exited.
   *
   * - `graceMs`: wait at most this long for requests in flight, then cancel them (their results
   *   end with finishReason 'cancelled'). Default: wait for them however long they take.
   * - `cancel: true`: cancel them at once (same as `graceMs: 0`).
   *
   * Cancelled requests end at the model thread's next step; if it does not answer within
   * {@link Engine.CANCEL_WAIT_MS} (a step stuck in native code), the thread is terminated and
   * their results reject. Calling close() again is safe: every call resolves when the engine is
   * closed, and a shorter grace given later applies.
   */
  close(opts: { cancel?: boolean; graceMs?: number } = {}): Promise<void> {
    const graceMs = opts.cancel ? 0 : opts.graceMs;
    if (graceMs !== undefined && !(graceMs >= 0)) throw new RangeError(`Engine.close: expected graceMs a non-negative number of milliseconds, but got ${graceMs}`);
    this.closing = true;
    if (graceMs !== undefined) {
      if (graceMs === 0) this.cancelAll();
      else setTimeout(() => this.cancelAll(), graceMs).unref();
    }
    return (this.closed ??= (async () => {
      await this.whenDrained();
      await this.worker.terminate();
      await this.exited;
    })());
  }

  /** How long close() waits for cancelled requests to end before terminating the model thread. */
  static readonly CANCEL_WAIT_MS = 2000;

  /** Cancels every request in flight; terminates the model thread if they do not end in time. */
  private cancelAll(): void {
    if (this.live.size === 0 || this.cancelling) return;
    this.cancelling = true;
    for (const g of this.live.values()) g.cancel();
    setTimeout(() => {
      if (this.live.size > 0) void this.worker.terminate(); // 'exit' fails what is left
    }, Engine.CANCEL_WAIT_MS).unref();
  }

  /** Resolves when no request is in flight. */
  private whenDrained(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise<void>((r) => this.drained.push(r));
  }

  private send(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private onStep(events: GenerationEvent[], stats: StepStats): void {
    for (const e of events) {
      const g = this.live.get(e.id);
      if (!g) continue;
      g.apply(e);
      if (e.kind === 'end') this.live.delete(e.id);
    }
    this.emit('step', stats);
    if (this.live.size === 0) this.notifyDrained();
  }

  private notifyDrained(): void {
    for (const r of this.drained.splice(0)) r();
  }

  private failAll(err: Error): void {
    for (const g of this.live.values()) g.fail(err);
    this.live.clear();
    this.notifyDrained();
  }
}
