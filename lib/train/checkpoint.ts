/**
 * Training checkpoints: a directory holding
 *   model.safetensors       the model's state dict (PyTorch keys: loads in Python too)
 *   optimizer.safetensors   the optimiser's state (PyTorch layout, see tn.optim.flattenOptimizerState)
 *   trainer.json            step, seed, scheduler state, the loss history, user data
 *
 * Crash safety: at every instant there is one complete checkpoint that {@link loadCheckpoint}
 * finds, the old one or the new one, never a mix of two saves and never none, whatever
 * interrupts a save (an exception, a full disk, kill -9, a power cut). A save never writes
 * into the checkpoint at `dir`; it goes:
 *   1. Clean up after crashed saves: remove `<dir>.tmp-<pid>-<hex>` folders whose process no
 *      longer runs (and the `<dir>.tmp-<pid>` of earlier versions), and `<dir>.prev` when
 *      `<dir>` exists (an older checkpoint whose removal was interrupted).
 *   2. Write the new checkpoint into `<dir>.tmp-<pid>-<hex>`: the two safetensors files, then
 *      trainer.json, each fsync'ed (io/atomic_write.ts), then fsync that folder.
 *   3. Swap (rename(2) cannot replace a non-empty folder, so in two renames): rename `<dir>`
 *      to `<dir>.prev`, fsync the parent; rename the new folder to `<dir>`, fsync the parent;
 *      remove `<dir>.prev`.
 * So either `<dir>` is a complete checkpoint, or `<dir>` is missing and `<dir>.prev` is one
 * (only between the two renames). Loading reads `<dir>`, else `<dir>.prev`; a save that
 * finds `<dir>` missing and `<dir>.prev` present (a crash between the renames) renames its
 * new checkpoint to `<dir>` and then removes `<dir>.prev`.
 *
 * The three files of one save carry one id (trainer.json's `checkpointId`, the safetensors
 * metadata `tn_checkpoint_id`): a load that meets files of two different saves (another
 * process saved while this one was loading) reads again, so it never mixes steps.
 * One process at a time may save to a directory.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processAlive, syncFolder, writeFileAtomic } from '../io/atomic_write';
import { tidy } from '../memory';
import type { Module } from '../nn/module';
import { flattenOptimizerState, unflattenOptimizerState } from '../optim/checkpoint';
import type { LRScheduler, SchedulerStateDict } from '../optim/lr_scheduler';
import type { Optimizer } from '../optim/optimizer';
import { loadSafetensorsWithMetadata, saveSafetensors } from '../safetensors';
import type { LossPoint } from './loss_curve';

/** The JSON part of a checkpoint. */
export interface TrainerState {
  /** Steps finished. */
  step: number;
  seed: number;
  scheduler?: SchedulerStateDict;
  history: LossPoint[];
  /** Anything the caller wants back on resume (config, tokenizer path, …). */
  extra?: Record<string, unknown>;
}

/** What a checkpoint saves and restores. */
export interface CheckpointParts {
  model: Module;
  optimizer: Optimizer<object>;
  scheduler?: LRScheduler;
}

const FILES = ['model.safetensors', 'optimizer.safetensors', 'trainer.json'] as const;
/** The metadata key (in both safetensors files) that ties them to their trainer.json. */
const ID_KEY = 'tn_checkpoint_id';

/** Where the previous checkpoint waits while a save swaps the new one in. */
const prevOf = (dir: string): string => `${dir}.prev`;
const isCheckpoint = (dir: string): boolean => fs.existsSync(path.join(dir, 'trainer.json'));

/** Removes `<dir>.tmp-*` folders of saves whose process died. */
function removeStaleSaves(dir: string): void {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)(?:-[0-9a-f]{12})?$/.exec(name.slice(prefix.length));
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

/**
 * Writes a checkpoint directory, replacing an older one at `dir` so that a crash at any
 * moment leaves the old or the new checkpoint loadable (see the module documentation for
 * the scheme). Refuses to replace a non-empty folder that is not a checkpoint.
 */
export function saveCheckpoint(dir: string, parts: CheckpointParts, state: TrainerState): void {
  const target = path.resolve(dir);
  const prev = prevOf(target);
  if (fs.existsSync(target) && !isCheckpoint(target) && fs.readdirSync(target).length > 0)
    throw new Error(`saveCheckpoint: ${dir} is a folder that holds no checkpoint (no trainer.json); refusing to replace it (choose another directory)`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  removeStaleSaves(target);
  if (fs.existsSync(target) && fs.existsSync(prev)) fs.rmSync(prev, { recursive: true, force: true });

  const id = crypto.randomUUID();
  const tmp = `${target}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    tidy(() => {
      saveSafetensors(path.join(tmp, 'model.safetensors'), parts.model.stateDict(), { [ID_KEY]: id });
      const flat = flattenOptimizerState(parts.optimizer.stateDict());
      saveSafetensors(path.join(tmp, 'optimizer.safetensors'), flat.tensors, { ...flat.metadata, [ID_KEY]: id });
    });
    const json = { ...state, scheduler: parts.scheduler?.stateDict(), checkpointId: id };
    writeFileAtomic(path.join(tmp, 'trainer.json'), JSON.stringify(json), 'saveCheckpoint');
    syncFolder(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const parent = path.dirname(target);
  if (fs.existsSync(target)) {
    fs.renameSync(target, prev);
    syncFolder(parent);
  }
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    throw new Error(`saveCheckpoint: could not move the new checkpoint into ${dir} (${(e as Error).message}); it is complete in ${tmp}, and the previous one is in ${prev}`, { cause: e });
  }
  syncFolder(parent);
  fs.rmSync(prev, { recursive: true, force: true });
}

/** The folder that holds the checkpoint `dir` now: `dir`, or `<dir>.prev` after a crash mid-swap. */
function locate(dir: string): string {
  const target = path.resolve(dir);
  if (isCheckpoint(target)) return target;
  if (!fs.existsSync(target) && isCheckpoint(prevOf(target))) return prevOf(target);
  throw new Error(`loadCheckpoint: ${dir} is not a checkpoint (no trainer.json)`);
}

/** trainer.json as stored, with the id of its save. */
function readState(folder: string, dir: string): { state: TrainerState; id: unknown } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(folder, 'trainer.json'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw e;
    throw new Error(`loadCheckpoint: ${dir}: trainer.json is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`loadCheckpoint: ${dir}: trainer.json does not hold an object`);
  const { checkpointId, ...state } = raw as TrainerState & { checkpointId?: unknown };
  return { state, id: checkpointId };
}

/**
 * Reads a checkpoint's trainer.json (step, seed, history) without loading tensors; finds the
 * checkpoint after a crash mid-save as {@link loadCheckpoint} does.
 */
export function readTrainerState(dir: string): TrainerState {
  return readState(locate(dir), dir).state;
}

/**
 * Restores model, optimiser and scheduler from a checkpoint directory; returns its trainer
 * state. After a save that crashed between the steps of its directory swap, it loads the
 * complete checkpoint left in `<dir>.prev` (the next save puts things back in place).
 */
export function loadCheckpoint(dir: string, parts: CheckpointParts): TrainerState {
  for (let attempt = 1; ; attempt++) {
    const last = attempt === 3;
    let state: TrainerState;
    let consistent: boolean;
    try {
      const folder = locate(dir);
      const read = readState(folder, dir);
      state = read.state;
      consistent = tidy(() => {
        const model = loadSafetensorsWithMetadata(path.join(folder, FILES[0]));
        const opt = loadSafetensorsWithMetadata(path.join(folder, FILES[1]));
        // Files from one save share an id (checkpoints written before ids existed have none).
        if (read.id !== undefined && (model.metadata[ID_KEY] !== read.id || opt.metadata[ID_KEY] !== read.id)) return false;
        parts.model.loadStateDict(model.tensors, { strict: true });
        parts.optimizer.loadStateDict(unflattenOptimizerState(opt.tensors, opt.metadata));
        return true;
      });
    } catch (e) {
      // A concurrent save may have swapped the folder away while it was read: try again.
      if (!last && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (!consistent) {
      if (last) throw new Error(`loadCheckpoint: ${dir}: its files belong to different saves (is another process saving to it right now?); try again`);
      continue;
    }
    if (parts.scheduler && state.scheduler) parts.scheduler.loadStateDict(state.scheduler);
    return state;
  }
}
