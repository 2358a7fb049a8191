/**
 * A Swin Transformer trained on MNIST: `npm run example:swin-mnist`.
 *
 * A two-stage Swin (patches of 2×2 pixels → 14×14 tokens, windows of 7 shifted every other
 * block, patch merging to 7×7; width 48) on the seeded 8,000 / 2,000 split of the npm `mnist`
 * digits; the loop is examples/mnist_classifier.ts.
 *
 *   npm run example:swin-mnist -- [--epochs 20] [--threads 2]
 */
import * as tn from '../lib';
import { trainMnistClassifier } from './mnist_classifier';

trainMnistClassifier('swin-mnist', 'Swin', 20, () =>
  new tn.swin.SwinTransformer({ imgSize: 28, patchSize: 2, inChans: 1, numClasses: 10, embedDim: 48, depths: [2, 2], numHeads: [3, 6], windowSize: 7, dropPathRate: 0.05 }),
).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
