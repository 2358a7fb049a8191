/**
 * Trainer: the training loop a PyTorch user writes by hand, with the parts everyone needs —
 * gradient accumulation, clipping, a learning-rate schedule, periodic evaluation, a progress
 * bar, a loss curve (CSV + SVG), checkpoints every N steps and on Ctrl-C, and exact resume.
 *
 * Reproducibility: before step s the trainer seeds libtorch's generator from (seed, s), and
 * data pipelines draw from (seed, s) too (tn.data.randomBlocks), so a run resumed from a
 * checkpoint at step k produces bit-identical losses to an uninterrupted run.
 *
 * @example
 * const trainer = new tn.train.Trainer({ model, optimizer, scheduler, maxSteps: 2000, seed: 1,
 *   checkpointDir: 'runs/gpt', checkpointEvery: 500, evalEvery: 250, clipGradNorm: 1 });
 * const result = await trainer.fit({
 *   loss: (step) => { const { x, y } = tn.data.randomBlocks(train, { batchSize: 32, blockSize: 128, seed: 1, step });
 *                     return model.forward(x, { targets: y }).loss!; },
 *   evaluate: () => validationLoss(),
 *   itemsPerStep: 32 * 128, unit: 'tok',
 * });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noGrad } from '../autograd';
import { manualSeed } from '../creation';
import { checkInt, typeError } from '../errors';
import { tidy } from '../memory';
import type { Module } from '../nn/module';
import { clipGradNorm } from '../optim/clip_grad';
import type { LRScheduler } from '../optim/lr_scheduler';
import type { Optimizer } from '../optim/optimizer';
import type { Tensor } from '../tensor';
import { loadCheckpoint, readTrainerState, saveCheckpoint } from './checkpoint';
import { LossCurve } from './loss_curve';
import { Progress } from './progress';

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  model: Module;
  optimizer: Optimizer<object>;
  /** Stepped once per optimiser step. */
  scheduler?: LRScheduler;
  /** Optimiser steps in the whole run. */
  maxSteps: number;
  /** Seed of the run (default 0). */
  seed?: number;
  /** Micro-batches per optimiser step (default 1); losses are averaged. */
  gradAccumulation?: number;
  /** Clip the gradients' joint 2-norm to this (default off). */
  clipGradNorm?: number;
  /** Run `evaluate` every N steps and at the end (default: only at the end). */
  evalEvery?: number;
  /** Where checkpoints go (default: none are written). */
  checkpointDir?: string;
  /** Save every N steps (default: only at the end and on Ctrl-C). */
  checkpointEvery?: number;
  /** Lines every N steps when not on a terminal (default 50). */
  logEvery?: number;
  /** Show a live progress bar (default: when stderr is a terminal and CI is unset). */
  progress?: boolean;
  /** Anything to store in checkpoints and get back on resume. */
  extra?: Record<string, unknown>;
}

/** What a run is made of, given to {@link Trainer.fit}. */
export interface FitSpec {
  /** The loss of micro-batch `micro` of step `step` (a scalar with a graph). */
  loss: (step: number, micro: number) => Tensor;
  /** The validation loss (run without gradients, model in eval mode). */
  evaluate?: () => number;
  /** Tokens or samples per step, for the throughput display. */
  itemsPerStep?: number;
  /** Their unit (default 'samples'). */
  unit?: string;
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** Steps finished (maxSteps unless interrupted). */
  steps: number;
  /** True when Ctrl-C (SIGINT) stopped the run; a checkpoint was saved if checkpointDir is set. */
  interrupted: boolean;
  /** The last training loss. */
  trainLoss: number;
  /** The last validation loss (NaN without evaluate). */
  validationLoss: number;
  /** Wall time of this fit call. */
  seconds: number;
  curve: LossCurve;
}

/** A training loop; see the module documentation. */
export class Trainer {
  readonly curve = new LossCurve();
  /** Steps finished so far (grows on resume). */
  step = 0;
  private readonly o: Required<Omit<TrainerOptions, 'scheduler' | 'clipGradNorm' | 'checkpointDir' | 'checkpointEvery' | 'evalEvery' | 'progress' | 'extra'>> & TrainerOptions;

  constructor(opts: TrainerOptions) {
    if (opts === null || typeof opts !== 'object') typeError('Trainer', 'options { model, optimizer, maxSteps }', opts);
    this.o = {
      ...opts,
      maxSteps: checkInt('Trainer: maxSteps', opts.maxSteps, 1),
      seed: checkInt('Trainer: seed', opts.seed ?? 0, 0),
      gradAccumulation: checkInt('Trainer: gradAccumulation', opts.gradAccumulation ?? 1, 1),
      logEvery: checkInt('Trainer: logEvery', opts.logEvery ?? 50, 1),
    };
    if (opts.evalEvery !== undefined) checkInt('Trainer: evalEvery', opts.evalEvery, 1);
    if (opts.checkpointEvery !== undefined) checkInt('Trainer: checkpointEvery', opts.checkpointEvery, 1);
  }

  /** Restores model, optimiser, scheduler, step and loss history from a checkpoint directory. */
  resume(dir: string): Record<string, unknown> | undefined {
    const seed = readTrainerState(dir).seed;
    if (seed !== this.o.seed) throw new RangeError(`Trainer.resume: the checkpoint was made with seed ${seed}, but this trainer has seed ${this.o.seed}`);
    const state = loadCheckpoint(dir, this.o);
    this.step = state.step;
    this.curve.points.splice(0, this.curve.points.length, ...state.history);
    return state.extra;
  }

  /** Saves a checkpoint now (to `dir`, default checkpointDir). */
  save(dir = this.o.checkpointDir): void {
    if (!dir) throw new Error('Trainer.save: no directory (set checkpointDir)');
    saveCheckpoint(dir, this.o, { step: this.step, seed: this.o.seed, history: this.curve.points, extra: this.o.extra });
  }

  /** Runs steps from the current one to maxSteps; Ctrl-C stops after the step in progress. */
  async fit(spec: FitSpec): Promise<FitResult> {
    const o = this.o;
    let interrupted = false;
    const onSigint = (): void => {
      interrupted = true;
    };
    process.once('SIGINT', onSigint);
    const progress = new Progress(o.maxSteps, { unit: spec.unit ?? 'samples', logEvery: o.logEvery, interactive: o.progress, start: this.step });
    const t0 = performance.now();
    let trainLoss = NaN;
    let validationLoss = NaN;
    let windowStart = performance.now();
    let windowSteps = 0;
    try {
      while (this.step < o.maxSteps && !interrupted) {
        trainLoss = this.trainStep(spec);
        this.step++;
        windowSteps++;
        const lr = (o.optimizer.paramGroups[0] as { lr?: number }).lr ?? NaN;
        this.curve.add({ step: this.step, split: 'train', loss: trainLoss, lr });
        if (spec.evaluate && ((o.evalEvery && this.step % o.evalEvery === 0) || this.step === o.maxSteps)) {
          validationLoss = this.evaluate(spec.evaluate);
          this.curve.add({ step: this.step, split: 'validation', loss: validationLoss });
        }
        const seconds = (performance.now() - windowStart) / 1000;
        progress.update(this.step, { loss: trainLoss, validationLoss: Number.isNaN(validationLoss) ? undefined : validationLoss, throughput: ((spec.itemsPerStep ?? 1) * windowSteps) / seconds, lr });
        if (seconds > 10) {
          windowStart = performance.now();
          windowSteps = 0;
        }
        if (o.checkpointDir && o.checkpointEvery && this.step % o.checkpointEvery === 0) this.save();
        // Let signals (Ctrl-C) and timers run between steps.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      progress.stop();
      process.removeListener('SIGINT', onSigint);
    }
    if (o.checkpointDir && (interrupted || this.step === o.maxSteps)) {
      this.save();
      if (interrupted) console.error(`interrupted at step ${this.step}: checkpoint saved to ${path.resolve(o.checkpointDir)} (resume from it)`);
    }
    return { steps: this.step, interrupted, trainLoss, validationLoss, seconds: (performance.now() - t0) / 1000, curve: this.curve };
  }

  /** Writes the loss curve as `<prefix>.csv` and `<prefix>.svg`; returns the paths written. */
  async saveCurve(prefix: string, title?: string): Promise<string[]> {
    fs.mkdirSync(path.dirname(path.resolve(prefix)), { recursive: true });
    this.curve.saveCSV(`${prefix}.csv`);
    await this.curve.saveSVG(`${prefix}.svg`, { title });
    return [`${prefix}.csv`, `${prefix}.svg`];
  }

  private trainStep(spec: FitSpec): number {
    const o = this.o;
    // Dropout and any other libtorch randomness depend only on (seed, step): exact resume.
    manualSeed((o.seed * 1_000_003 + this.step) % 2 ** 31);
    o.model.train();
    o.optimizer.zeroGrad();
    let total = 0;
    for (let micro = 0; micro < o.gradAccumulation; micro++) {
      total += tidy(() => {
        const loss = spec.loss(this.step, micro);
        (o.gradAccumulation > 1 ? loss.div(o.gradAccumulation) : loss).backward();
        return loss.item() as number;
      });
    }
    if (o.clipGradNorm !== undefined) tidy(() => void clipGradNorm(o.model.parameters(), o.clipGradNorm!));
    o.optimizer.step();
    o.scheduler?.step();
    return total / o.gradAccumulation;
  }

  private evaluate(fn: () => number): number {
    const was = this.o.model.training;
    this.o.model.eval();
    try {
      return noGrad(() => tidy(fn));
    } finally {
      this.o.model.train(was);
    }
  }
}
