/**
 * Transformer-XL (Dai et al., 2019): segment-level recurrence with memory and relative
 * positional attention, with the module names and state-dict keys of kimiyoung/transformer-xl.
 */
export { relShift, relativePositionalAttention, relativePositionalAttentionAsync, relativePositions } from './functional';
export type { RelativeAttentionOptions } from './functional';
