/**
 * Training: a Trainer loop with progress, loss curves, checkpoints (every N steps and on
 * Ctrl-C) and exact resume; the pieces are usable on their own.
 */
export { Trainer } from './trainer';
export type { TrainerOptions, FitSpec, FitResult } from './trainer';
export { LossCurve } from './loss_curve';
export type { LossPoint } from './loss_curve';
export { Progress } from './progress';
export type { ProgressValues } from './progress';
export { saveCheckpoint, loadCheckpoint, readTrainerState } from './checkpoint';
export type { TrainerState, CheckpointParts } from './checkpoint';
