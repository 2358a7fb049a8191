/**
 * Training progress: a live bar (cli-progress) with loss, throughput and ETA on a terminal;
 * on a pipe or in CI, where a bar would be noise, one plain line every `logEvery` steps.
 */
import { SingleBar } from 'cli-progress';

/** What a progress update carries. */
export interface ProgressValues {
  loss: number;
  validationLoss?: number;
  /** Items (tokens, samples) per second. */
  throughput: number;
  lr: number;
}

/** A progress display; see the module documentation. */
export class Progress {
  private bar: SingleBar | null = null;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly opts: { unit: string; logEvery: number; interactive?: boolean; start?: number },
  ) {
    const interactive = opts.interactive ?? (Boolean(process.stderr.isTTY) && !process.env.CI);
    if (interactive) {
      this.bar = new SingleBar({
        format: `{bar} {value}/{total} | loss {loss} | val {val} | {throughput} ${opts.unit}/s | lr {lr} | ETA {eta_formatted}`,
        barsize: 24, hideCursor: true, etaBuffer: 50, stream: process.stderr,
      });
      this.bar.start(total, opts.start ?? 0, { loss: '-', val: '-', throughput: '-', lr: '-' });
    }
  }

  /** Reports step `step` (1-based count of finished steps). */
  update(step: number, v: ProgressValues): void {
    const fields = { loss: v.loss.toFixed(4), val: v.validationLoss === undefined ? '-' : v.validationLoss.toFixed(4), throughput: v.throughput.toFixed(0), lr: v.lr.toExponential(2) };
    if (this.bar) this.bar.update(step, fields);
    else if (step % this.opts.logEvery === 0 || step === this.total) {
      const s = ((performance.now() - this.started) / 1000).toFixed(0);
      console.log(`step ${step}/${this.total}  loss ${fields.loss}  val ${fields.val}  ${fields.throughput} ${this.opts.unit}/s  lr ${fields.lr}  ${s}s`);
    }
  }

  /** Prints a message without breaking the bar. */
  log(message: string): void {
    if (this.bar) process.stderr.write(`\r\x1b[K${message}\n`);
    else console.log(message);
  }

  /** Ends the bar. */
  stop(): void {
    this.bar?.stop();
  }
}
