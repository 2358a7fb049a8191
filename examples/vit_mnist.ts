/**
 * A Vision Transformer trained on MNIST: `npm run example:vit-mnist`.
 *
 * A 4-layer ViT (patches of 4×4 pixels → 49 tokens + a class token, width 64) on the seeded
 * 8,000 / 2,000 split of the npm `mnist` digits; the loop is examples/mnist_classifier.ts.
 *
 *   npm run example:vit-mnist -- [--epochs 40] [--threads 2]
 */
import * as tn from '../lib';
import { trainMnistClassifier } from './mnist_classifier';

trainMnistClassifier('vit-mnist', 'ViT', 40, () =>
  new tn.models.ViT({ imageSize: 28, patchSize: 4, numLayers: 4, numHeads: 4, hiddenDim: 64, mlpDim: 128, numClasses: 10, inChannels: 1, dropout: 0.05 }),
).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
