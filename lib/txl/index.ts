/**
 * Transformer-XL (Dai et al., 2019): segment-level recurrence with memory and relative
 * positional attention, with the module names and state-dict keys of kimiyoung/transformer-xl.
 */
export { relShift, relativePositionalAttention, relativePositionalAttentionAsync, relativePositions } from './functional';
export type { RelativeAttentionOptions } from './functional';
export { PositionalEmbedding } from './modules/positional_embedding';
export { PositionwiseFF } from './modules/positionwise_ff';
export { RelPartialLearnableMultiHeadAttn, RelPartialLearnableDecoderLayer } from './modules/rel_attn';
export type { RelAttnOptions, RelAttnInputs, KeyValues } from './modules/rel_attn';
export { AdaptiveEmbedding } from './modules/adaptive_embedding';
export { ProjectedAdaptiveLogSoftmax } from './modules/adaptive_softmax';
export { MemTransformerLM } from './modules/mem_transformer';
export type { MemTransformerLMOptions, TXLState } from './modules/mem_transformer';
export { generate, generateSync } from './generate';
