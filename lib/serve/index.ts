/**
 * Serving: continuous-batching text generation (Engine, BatchScheduler) and an OpenAI-style
 * HTTP server on it (createServer / serve; `npx transformer-native serve`).
 */
export { Engine, QueueFullError, EngineClosedError } from './engine';
export type { EngineOptions } from './engine';
export { Generation } from './generation';
export type { CompletionResult } from './generation';
export { BatchScheduler } from './scheduler';
export type { BatchSchedulerOptions, CachedDecoder, DecoderCache, TextTokenizer } from './scheduler';
export { createServer, serve, HTTP_DEFAULTS } from './server';
export type { HttpLimits, ServerOptions, ServeOptions, RunningServer } from './server';
export type { ConnectionCloseReason } from './metrics';
export { loadModel, resolveModelFiles } from './model_dir';
export type { ModelFiles } from './model_dir';
export type { SamplingParams, FinishReason, Usage, GenerationEvent, GenerationRequest, StepStats } from './types';
export type { ModelInfo } from './protocol';
