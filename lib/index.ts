/**
 * transformer-native: build, train and serve transformer models from Node.js and
 * TypeScript on libtorch. The API follows PyTorch's names in camelCase.
 *
 * @example
 * import * as tn from 'transformer-native';
 * const x = tn.randn([2, 3], { requiresGrad: true });
 * x.mul(x).sum().backward();
 * console.log(x.grad!.toString());
 */
export { Tensor } from './tensor';
export type { NestedValues, ToOptions } from './tensor';
export { DTYPES } from './dtype';
export type { DType, TypedArrayFor, AnyTypedArray } from './dtype';
export * from './creation';
export * from './ops/elementwise';
export * from './ops/shape';
export * from './ops/reduce';
export * from './ops/linalg';
export { index, indexPut_ } from './ops/indexing';
export type { IndexSpec, Slice } from './ops/indexing';
export { softmax, logSoftmax } from './nn/functional';
export { tidy, keep, dispose, memory } from './memory';
export type { MemoryInfo } from './memory';
export { cpuCacheInfo, emptyCache, setCpuCacheLimit } from './cpu_cache';
export type { CpuCacheInfo } from './cpu_cache';
export { noGrad, enableGrad, inferenceMode, isGradEnabled, setGradEnabled, isInferenceModeEnabled } from './autograd';
export * as autograd from './autograd';
export { loadSafetensors, loadSafetensorsWithMetadata, saveSafetensors, serializeSafetensors } from './safetensors';
export type { LoadSafetensorsOptions, SafetensorsContents } from './safetensors';
export { config, setNumThreads, getNumThreads, cuda } from './config';
export type { Config } from './config';
export * as nn from './nn';
export * as swin from './swin';
export * as optim from './optim';
export * as models from './models';
export * as tokenizers from './tokenizers';
export * as serve from './serve';
export * as data from './data';
export * as train from './train';
export * as txl from './txl';
export { autocast, isAutocastEnabled } from './autocast';
export type { AutocastOptions } from './autocast';
