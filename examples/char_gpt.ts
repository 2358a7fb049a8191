/**
 * A character-level GPT trained on Moby Dick: `npm run example:char-gpt`.
 *
 * Trains a 4-layer GPT (1.8 M parameters, context 128) for a fixed number of steps on 90 % of
 * the novel, reports the validation loss on the last 10 % next to the unigram baseline
 * (predicting each character by its frequency alone), prints a sample, and saves the model as a
 * servable directory (model.safetensors + config.json + tokenizer.json: `npm start` serves the
 * copy in models/moby-gpt). Checkpoints go to runs/char-gpt every 250 steps and on Ctrl-C;
 * `--resume` continues from there with bit-identical losses.
 *
 *   npm run example:char-gpt -- [--steps 1000] [--out models/moby-gpt] [--resume] [--threads 2]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tn from '../lib';

const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '1000' }, out: { type: 'string', default: path.join(ROOT, 'models', 'moby-gpt') },
      runs: { type: 'string', default: path.join(ROOT, 'runs', 'char-gpt') }, resume: { type: 'boolean', default: false },
      threads: { type: 'string' }, seed: { type: 'string', default: '1337' },
    },
  });
  if (values.threads) tn.setNumThreads(Number(values.threads));
  const seed = Number(values.seed);
  const steps = Number(values.steps);

  const text = tn.data.mobyDick();
  const tokenizer = tn.tokenizers.CharTokenizer.train(text);
  const ids = Int32Array.from(tokenizer.encode(text));
  const { train, validation } = tn.data.splitTokens(ids, 0.1);
  const config = { architecture: 'gpt', name: 'moby-gpt', vocabSize: tokenizer.vocabSize, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 192, dropout: 0.1 };
  const batchSize = 32;
  console.log(`Moby Dick: ${ids.length.toLocaleString()} characters, vocabulary ${tokenizer.vocabSize}; ${train.length.toLocaleString()} train / ${validation.length.toLocaleString()} validation`);

  // Baseline: each character predicted by its training frequency (cross entropy on validation).
  const counts = new Float64Array(tokenizer.vocabSize).fill(1); // add-one, so unseen characters are finite
  for (const id of train) counts[id]++;
  const total = counts.reduce((a, b) => a + b, 0);
  let unigram = 0;
  for (const id of validation) unigram -= Math.log(counts[id] / total);
  unigram /= validation.length;

  tn.manualSeed(seed);
  const model = new tn.models.GPT(config);
  const params = model.parameters().reduce((a, p) => a + p.numel(), 0);
  const optimizer = new tn.optim.AdamW(model.parameters(), { lr: 2e-3, betas: [0.9, 0.99], weightDecay: 0.1 });
  const scheduler = new tn.optim.LinearWarmupCosine(optimizer, { warmupSteps: Math.min(100, Math.floor(steps / 10)), totalSteps: steps, minLr: 1e-4 });
  const trainer = new tn.train.Trainer({ model, optimizer, scheduler, maxSteps: steps, seed, clipGradNorm: 1, evalEvery: 250, checkpointDir: values.runs, checkpointEvery: 250, logEvery: 50, extra: { config } });
  if (values.resume) {
    trainer.resume(values.runs);
    console.log(`resumed from ${values.runs} at step ${trainer.step}`);
  }
  console.log(`GPT ${(params / 1e6).toFixed(2)}M parameters, ${tn.getNumThreads()} threads; ${steps} steps of ${batchSize}×${config.blockSize} tokens`);

  // Fixed validation batches: the same windows at every evaluation.
  const evaluate = (): number => {
    let sum = 0;
    const n = 12;
    for (let i = 0; i < n; i++) {
      const { x, y } = tn.data.randomBlocks(validation, { batchSize, blockSize: config.blockSize, seed: 7, step: i });
      sum += model.forward(x, { targets: y }).loss!.item() as number;
    }
    return sum / n;
  };
  const result = await trainer.fit({
    loss: (step) => {
      const { x, y } = tn.data.randomBlocks(train, { batchSize, blockSize: config.blockSize, seed, step });
      return model.forward(x, { targets: y }).loss!;
    },
    evaluate,
    itemsPerStep: batchSize * config.blockSize,
    unit: 'tok',
  });
  const curveFiles = await trainer.saveCurve(path.join(values.runs, 'loss'), 'char-level GPT on Moby Dick');
  if (result.interrupted) process.exit(130);

  model.eval();
  const prompt = 'Call me Ishmael. ';
  const sample = tokenizer.decode(model.generateSync(tokenizer.encode(prompt), { maxNewTokens: 300, temperature: 0.8, topK: 40, seed: 1 }));
  fs.mkdirSync(values.out, { recursive: true });
  tn.tidy(() => tn.saveSafetensors(path.join(values.out, 'model.safetensors'), model.stateDict()));
  fs.writeFileSync(path.join(values.out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  tokenizer.save(path.join(values.out, 'tokenizer.json'));

  console.log(`\nvalidation loss ${result.validationLoss.toFixed(3)} nats/char (${(result.validationLoss / Math.LN2).toFixed(3)} bits), unigram baseline ${unigram.toFixed(3)} (${(unigram / Math.LN2).toFixed(3)} bits); train loss ${result.trainLoss.toFixed(3)}`);
  console.log(`${result.steps} steps in ${result.seconds.toFixed(0)} s (${((result.steps * batchSize * config.blockSize) / result.seconds).toFixed(0)} tokens/s)`);
  console.log(`loss curve: ${curveFiles.join(', ')}; model: ${values.out}\n`);
  console.log(`sample (temperature 0.8, top-k 40):\n${prompt}${sample}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
