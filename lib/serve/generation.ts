/**
 * Generation: the handle of one submitted completion — an async iterator over its text as it
 * is produced, plus a promise of the whole result. Abandoning the iterator (break, return or an
 * aborted signal) cancels the request and frees its slot at the next step.
 */
import type { FinishReason, GenerationEvent, Usage } from './types';

/** The outcome of one completion. */
export interface CompletionResult {
  /** The generated text (stop strings excluded). */
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  /** Time spent waiting for a slot. */
  queuedMs: number;
  /** Time from submission to the first text (NaN if none). */
  firstTextMs: number;
  /** Time from submission to the end. */
  totalMs: number;
}

/** One completion in flight; see the module documentation. */
export class Generation implements AsyncIterable<string> {
  /** Resolves when the completion ends (it rejects only if the engine itself fails). */
  readonly result: Promise<CompletionResult>;
  private readonly chunks: string[] = [];
  private text = '';
  private queuedMs = 0;
  private firstTextMs = NaN;
  private ended = false;
  private wake: (() => void) | null = null;
  private resolve!: (r: CompletionResult) => void;
  private reject!: (e: Error) => void;
  private readonly startedAt = performance.now();

  /** @internal Created by Engine.generate. */
  constructor(
    readonly id: number,
    private readonly cancelFn: (id: number) => void,
  ) {
    this.result = new Promise<CompletionResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // Callers that only iterate must not see an unhandled rejection.
    this.result.catch(() => undefined);
  }

  /** Stops generating (no-op once ended); the result then has finishReason 'cancelled'. */
  cancel(): void {
    if (!this.ended) this.cancelFn(this.id);
  }

  /** @internal Applies an event from the model thread. */
  apply(e: GenerationEvent): void {
    if (e.kind === 'start') this.queuedMs = e.queuedMs;
    else if (e.kind === 'text') {
      if (Number.isNaN(this.firstTextMs)) this.firstTextMs = performance.now() - this.startedAt;
      this.text += e.text;
      this.chunks.push(e.text);
    } else {
      this.ended = true;
      const totalMs = performance.now() - this.startedAt;
      this.resolve({ text: this.text, finishReason: e.finishReason, usage: e.usage, queuedMs: this.queuedMs, firstTextMs: this.firstTextMs, totalMs });
    }
    this.wake?.();
  }

  /** @internal Fails the generation (engine gone). */
  fail(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.reject(err);
    this.wake?.();
  }

  /** Text chunks as they are generated. */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          yield this.chunks.shift()!;
          continue;
        }
        if (this.ended) {
          await this.result; // rethrows an engine failure
          return;
        }
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
      }
    } finally {
      this.cancel();
    }
  }
}
