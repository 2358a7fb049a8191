/** Messages between the Engine (main thread) and its model worker. Plain data only. */
import type { ModelFiles } from './model_dir';
import type { GenerationEvent, GenerationRequest, StepStats } from './types';

/** What the worker is started with. */
export interface WorkerConfig {
  /** The model's weights, config and tokenizer. */
  files: ModelFiles;
  maxBatch: number;
  /** libtorch intra-op threads in the worker (undefined = the package default). */
  threads?: number;
}

/** Facts about the loaded model, sent once when the worker is ready. */
export interface ModelInfo {
  /** Context length (prompt + completion). */
  contextLength: number;
  vocabSize: number;
  parameters: number;
  name: string;
}

/** Main thread → worker. */
export type ToWorker = { type: 'submit'; req: GenerationRequest } | { type: 'cancel'; id: number };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'step'; events: GenerationEvent[]; stats: StepStats }
  | { type: 'fatal'; message: string };
