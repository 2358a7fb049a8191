/**
 * A Swin Transformer trained on MNIST: `npm run example:swin-mnist`.
 *
 * A two-stage Swin (patches of 4×4 pixels → 7×7 tokens, padded to 8×8 for windows of 4 that
 * shift by 2 every other block; patch merging to 4×4, one window; width 64) on the seeded
 * 8,000 / 2,000 split of the npm `mnist` digits; the loop is examples/mnist_classifier.ts.
 *
 *   npm run example:swin-mnist -- [--epochs 40] [--threads 2]
 */
import * as tn from '../lib';
import { trainMnistClassifier } from './mnist_classifier';

trainMnistClassifier('swin-mnist', 'Swin', 40, () =>
  new tn.swin.SwinTransformer({ imgSize: 28, patchSize: 4, inChans: 1, numClasses: 10, embedDim: 64, depths: [2, 2], numHeads: [4, 8], windowSize: 4, dropPathRate: 0.05 }),
).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
