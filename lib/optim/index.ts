/** tn.optim: optimisers (fused native updates), gradient clipping and learning-rate schedulers. */
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamGroup } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam } from './adam';
export type { AdamOptions } from './adam';
export { AdamW } from './adamw';
export { clipGradNorm } from './clip_grad';
export { LRScheduler, StepLR, LinearWarmupCosine } from './lr_scheduler';
export type { SchedulerStateDict, StepLROptions, LinearWarmupCosineOptions } from './lr_scheduler';
export { flattenOptimizerState, unflattenOptimizerState } from './checkpoint';
export type { FlatOptimizerState } from './checkpoint';
