/**
 * Ready-made models: GPT (decoder-only LM with KV-cache generation), and the sampling helpers
 * they share with the server.
 */
export { GPT } from './gpt';
export type { GPTOptions, GPTForwardOptions, GPTOutput } from './gpt';
export { GPTCache } from './gpt_cache';
export type { GPTCacheOptions } from './gpt_cache';
export type { GenerateOptions } from './generation';
export { sampleRow, seededRandom } from './sampling';
export type { RowSampling } from './sampling';
export { ViT } from './vit';
export type { ViTOptions } from './vit';
export { BertForMaskedLM, maskTokens } from './bert';
export type { BertOptions, BertForwardOptions, MaskTokensOptions } from './bert';
export { Seq2SeqTransformer } from './seq2seq';
export type { Seq2SeqOptions, Seq2SeqForwardOptions } from './seq2seq';
