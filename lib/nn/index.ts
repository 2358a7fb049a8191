/** tn.nn: layers and their stateless forms (`tn.nn.functional`). */
export * as functional from './functional';
export { Module } from './module';
export type { LoadStateDictResult, StateDictOptions } from './module';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { MultiheadAttention } from './multihead_attention';
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions, MultiheadAttentionOutput } from './multihead_attention';
export { KVCache } from './kv_cache';
export type { KVCacheOptions } from './kv_cache';
