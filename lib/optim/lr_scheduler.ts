/**
 * Learning-rate schedulers, as torch.optim.lr_scheduler: a scheduler sets `lr` of every
 * parameter group of its optimiser. Call `step()` once per epoch (StepLR) or per optimiser
 * step (LinearWarmupCosine), after `optimizer.step()`. Construction applies the schedule's
 * value for step 0 (as PyTorch, whose constructor takes one step).
 *
 * - {@link StepLR}: lr = lr · gamma every `stepSize` steps (PyTorch's chainable form, so a
 *   learning rate changed by hand carries on being decayed).
 * - {@link LinearWarmupCosine}: with base learning rate b (each group's lr at construction),
 *   warm-up W = warmupSteps, total T = totalSteps and floor m = minLr, at step t:
 *
 *       t < W:       lr = b · t / W                                   (linear warm-up from 0)
 *       W ≤ t ≤ T:   lr = m + (b − m) · ½ · (1 + cos(π · (t − W) / (T − W)))
 *       t > T:       lr = m
 *
 *   as `transformers.get_cosine_schedule_with_warmup` with a floor.
 *
 * State dicts hold what PyTorch's do (`base_lrs`, `last_epoch`, `_step_count`, `_last_lr`,
 * and the schedule's settings in snake_case).
 *
 * @example
 * const opt = new tn.optim.AdamW(model.parameters(), { lr: 3e-4 });
 * const sched = new tn.optim.LinearWarmupCosine(opt, { warmupSteps: 100, totalSteps: 5000, minLr: 3e-5 });
 * for (...) { ...; opt.step(); sched.step(); }
 */
import { checkInt, checkNumber, typeError } from '../errors';
import { Optimizer } from './optimizer';

/** PyTorch's state-dict layout of a scheduler. */
export type SchedulerStateDict = Record<string, number | number[] | boolean>;

/** The base class of the schedulers; see the module documentation. */
export abstract class LRScheduler {
  readonly optimizer: Optimizer<{ lr: number }>;
  /** Each group's learning rate at construction. */
  baseLrs: number[];
  /** The current step (0 after construction). */
  lastEpoch: number;
  private stepCount = 0;
  private lastLr: number[] = [];

  protected constructor(optimizer: Optimizer<object>) {
    if (!(optimizer instanceof Optimizer)) typeError(this.constructor.name, 'an Optimizer', optimizer);
    this.optimizer = optimizer as unknown as Optimizer<{ lr: number }>;
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.lr);
    this.lastEpoch = -1;
  }

  /** @internal Takes the first step; subclasses call it at the end of their constructor. */
  protected init(): void {
    this.step();
  }

  /** The learning rate of each group at `lastEpoch`. */
  protected abstract computeLr(): number[];

  /** Advances one step and sets every group's learning rate. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs;
  }

  /** The learning rates the last {@link step} set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The schedule's own settings for the state dict (snake_case). */
  protected abstract settings(): SchedulerStateDict;
  /** Restores the schedule's own settings. */
  protected abstract loadSettings(sd: SchedulerStateDict): void;

  /** The scheduler's state, in PyTorch's layout. */
  stateDict(): SchedulerStateDict {
    return {
      ...this.settings(), base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, verbose: false, _step_count: this.stepCount,
      _get_lr_called_within_step: false, _last_lr: [...this.lastLr],
    };
  }

  /** Restores a state from {@link stateDict} (or PyTorch's). Does not change the optimiser's lr. */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') typeError(where, 'a scheduler state dict', sd);
    const nums = (k: string): number[] => {
      const v = sd[k];
      if (!Array.isArray(v) || v.length !== this.optimizer.paramGroups.length || !v.every((x) => typeof x === 'number'))
        typeError(`${where}: ${k}`, `${this.optimizer.paramGroups.length} numbers (one per parameter group)`, v);
      return [...v];
    };
    const baseLrs = nums('base_lrs');
    const lastLr = nums('_last_lr');
    const lastEpoch = checkInt(`${where}: last_epoch`, sd.last_epoch, -1);
    const stepCount = checkInt(`${where}: _step_count`, sd._step_count, 0);
    this.loadSettings(sd);
    this.baseLrs = baseLrs;
    this.lastLr = lastLr;
    this.lastEpoch = lastEpoch;
    this.stepCount = stepCount;
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Decay every this many steps. */
  stepSize: number;
  /** Multiplicative factor (default 0.1). */
  gamma?: number;
}

/** lr · gamma every `stepSize` steps; see the module documentation. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer<object>, opts: StepLROptions) {
    super(optimizer);
    if (opts === null || typeof opts !== 'object') typeError('StepLR', 'options { stepSize, gamma }', opts);
    this.stepSize = checkInt('StepLR: stepSize', opts.stepSize, 1);
    this.gamma = checkNumber('StepLR: gamma', opts.gamma ?? 0.1);
    this.init();
  }

  protected computeLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected settings(): SchedulerStateDict {
    return { step_size: this.stepSize, gamma: this.gamma };
  }

  protected loadSettings(sd: SchedulerStateDict): void {
    this.stepSize = checkInt('StepLR.loadStateDict: step_size', sd.step_size, 1);
    this.gamma = checkNumber('StepLR.loadStateDict: gamma', sd.gamma);
  }
}

/** Options of {@link LinearWarmupCosine}. */
export interface LinearWarmupCosineOptions {
  /** Steps of linear warm-up from 0 to the base learning rate. */
  warmupSteps: number;
  /** Step at which the cosine reaches `minLr` (> warmupSteps). */
  totalSteps: number;
  /** Floor of the decay (default 0). */
  minLr?: number;
}

/** Linear warm-up, then cosine decay to `minLr`; see the module documentation. */
export class LinearWarmupCosine extends LRScheduler {
  warmupSteps: number;
  totalSteps: number;
  minLr: number;

  constructor(optimizer: Optimizer<object>, opts: LinearWarmupCosineOptions) {
    super(optimizer);
    if (opts === null || typeof opts !== 'object') typeError('LinearWarmupCosine', 'options { warmupSteps, totalSteps, minLr }', opts);
    this.warmupSteps = checkInt('LinearWarmupCosine: warmupSteps', opts.warmupSteps, 0);
    this.totalSteps = checkInt('LinearWarmupCosine: totalSteps', opts.totalSteps, this.warmupSteps + 1);
    this.minLr = checkNumber('LinearWarmupCosine: minLr', opts.minLr ?? 0);
    this.init();
  }

  /** The learning rate at step `t` for base learning rate `base`. */
  lrAt(t: number, base: number): number {
    const W = this.warmupSteps;
    const T = this.totalSteps;
    if (t < W) return (base * t) / W;
    if (t > T) return this.minLr;
    return this.minLr + (base - this.minLr) * 0.5 * (1 + Math.cos((Math.PI * (t - W)) / (T - W)));
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((b) => this.lrAt(this.lastEpoch, b));
  }

  protected settings(): SchedulerStateDict {
    return { warmup_steps: this.warmupSteps, total_steps: this.totalSteps, min_lr: this.minLr };
  }

  protected loadSettings(sd: SchedulerStateDict): void {
    this.warmupSteps = checkInt('LinearWarmupCosine.loadStateDict: warmup_steps', sd.warmup_steps, 0);
    this.totalSteps = checkInt('LinearWarmupCosine.loadStateDict: total_steps', sd.total_steps, this.warmupSteps + 1);
    this.minLr = checkNumber('LinearWarmupCosine.loadStateDict: min_lr', sd.min_lr);
  }
}
