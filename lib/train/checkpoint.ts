/**
 * Training checkpoints: a directory holding
 *   model.safetensors       the model's state dict (PyTorch keys: loads in Python too)
 *   optimizer.safetensors   the optimiser's state (PyTorch layout, see tn.optim.flattenOptimizerState)
 *   trainer.json            step, seed, scheduler state, the loss history, user data
 * Written to a temporary directory then renamed, so an interrupted save never leaves a torn
 * checkpoint behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tidy } from '../memory';
import type { Module } from '../nn/module';
import { flattenOptimizerState, unflattenOptimizerState } from '../optim/checkpoint';
import type { LRScheduler, SchedulerStateDict } from '../optim/lr_scheduler';
import type { Optimizer } from '../optim/optimizer';
import { loadSafetensors, loadSafetensorsWithMetadata, saveSafetensors } from '../safetensors';
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

/** Writes a checkpoint directory (replacing an older one at `dir`). */
export function saveCheckpoint(dir: string, parts: CheckpointParts, state: TrainerState): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  tidy(() => {
    saveSafetensors(path.join(tmp, 'model.safetensors'), parts.model.stateDict());
    const flat = flattenOptimizerState(parts.optimizer.stateDict());
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), flat.tensors, flat.metadata);
  });
  const json: TrainerState = { ...state, scheduler: parts.scheduler?.stateDict() };
  fs.writeFileSync(path.join(tmp, 'trainer.json'), JSON.stringify(json));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

/** Reads a checkpoint's trainer.json (step, seed, history) without loading tensors. */
export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, 'trainer.json');
  if (!fs.existsSync(file)) throw new Error(`loadCheckpoint: ${dir} is not a checkpoint (no trainer.json)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
}

/** Restores model, optimiser and scheduler from a checkpoint directory; returns its trainer state. */
export function loadCheckpoint(dir: string, parts: CheckpointParts): TrainerState {
  const state = readTrainerState(dir);
  tidy(() => {
    parts.model.loadStateDict(loadSafetensors(path.join(dir, 'model.safetensors')), { strict: true });
    const { tensors, metadata } = loadSafetensorsWithMetadata(path.join(dir, 'optimizer.safetensors'));
    parts.optimizer.loadStateDict(unflattenOptimizerState(tensors, metadata));
  });
  if (parts.scheduler && state.scheduler) parts.scheduler.loadStateDict(state.scheduler);
  return state;
}
