/**
 * Transformer-XL on Moby Dick, evaluated with memory: `npm run example:txl`.
 *
 * A character-level MemTransformerLM (4 layers, width 128, segments of 64 characters, memory of
 * 64) trains on 90 % of the novel cut into 16 parallel streams, read segment after segment with
 * the memory carried across (truncated backpropagation at segment edges, as the paper). Then the
 * last 10 % is evaluated twice, segment after segment: with memory (each segment also sees the
 * previous 64 characters' states) and without (each segment alone). Memory should lower the
 * loss: the model sees more context for the same work per segment.
 *
 *   npm run example:txl -- [--steps 1200] [--threads 2]
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tn from '../lib';

const ROOT = path.resolve(__dirname, '..', '..');

/** Cuts ids into `streams` equal rows; returns (len, streams) int64, as upstream's LMOrderedIterator. */
function batchify(ids: Int32Array, streams: number): tn.Tensor {
  const len = Math.floor(ids.length / streams);
  const data = new BigInt64Array(len * streams);
  for (let s = 0; s < streams; s++) for (let t = 0; t < len; t++) data[t * streams + s] = BigInt(ids[s * len + t]);
  return tn.tensor(data).view(len, streams);
}

/** Mean loss (nats/char) over consecutive segments of `data`, carrying memory when the model has some. */
function evaluate(model: tn.txl.MemTransformerLM, data: tn.Tensor, seg: number): number {
  model.eval();
  const state = { mems: model.initMems(data.shape[1]) };
  let sum = 0;
  let n = 0;
  tn.noGrad(() => {
    for (let at = 0; at + seg + 1 <= data.shape[0]; at += seg) {
      sum += tn.tidy(() => model.forwardSegment(data.narrow(0, at, seg), data.narrow(0, at + 1, seg), state).sum().item() as number);
      n += seg * data.shape[1];
    }
  });
  tn.dispose(state.mems);
  model.train();
  return sum / n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '1200' }, threads: { type: 'string' }, seed: { type: 'string', default: '0' } } });
  if (values.threads) tn.setNumThreads(Number(values.threads));
  const steps = Number(values.steps);
  const seed = Number(values.seed);
  const text = tn.data.mobyDick();
  const tokenizer = tn.tokenizers.CharTokenizer.train(text);
  const { train, validation } = tn.data.splitTokens(Int32Array.from(tokenizer.encode(text)), 0.1);
  const seg = 64;
  const trainData = batchify(train, 16);
  const validData = batchify(validation, 8);
  const opts = { nToken: tokenizer.vocabSize, nLayer: 4, nHead: 4, dModel: 128, dHead: 32, dInner: 512, tgtLen: seg, memLen: seg, dropout: 0.1 };
  tn.manualSeed(seed);
  const model = new tn.txl.MemTransformerLM(opts);
  const params = model.parameters().reduce((a, p) => a + p.numel(), 0);
  const optimizer = new tn.optim.Adam(model.parameters(), { lr: 2e-3 });
  const scheduler = new tn.optim.LinearWarmupCosine(optimizer, { warmupSteps: Math.min(100, Math.floor(steps / 10)), totalSteps: steps, minLr: 1e-4 });
  const trainer = new tn.train.Trainer({ model, optimizer, scheduler, maxSteps: steps, seed, clipGradNorm: 0.25, logEvery: 100 });
  console.log(`Moby Dick, ${tokenizer.vocabSize} characters; Transformer-XL ${(params / 1e6).toFixed(2)}M parameters, segments of ${seg} with memory ${seg}, 16 streams; ${tn.getNumThreads()} threads`);
  const segments = Math.floor((trainData.shape[0] - 1) / seg);
  const state = { mems: model.initMems(16) };
  const result = await trainer.fit({
    loss: (step) => {
      const at = (step % segments) * seg;
      if (at === 0) {
        tn.dispose(state.mems);
        state.mems = model.initMems(16); // a new pass over the streams starts without memory
      }
      return model.forwardSegment(trainData.narrow(0, at, seg), trainData.narrow(0, at + 1, seg), state).mean();
    },
    itemsPerStep: seg * 16,
    unit: 'tok',
  });
  await trainer.saveCurve(path.join(ROOT, 'runs', 'txl-moby-dick', 'loss'), 'Transformer-XL on Moby Dick');
  const withMemory = evaluate(model, validData, seg);
  const noMemory = new tn.txl.MemTransformerLM({ ...opts, memLen: 0 });
  noMemory.loadStateDict(tn.tidy(() => model.stateDict()));
  const without = evaluate(noMemory, validData, seg);
  const bits = (x: number): string => (x / Math.LN2).toFixed(3);
  console.log(`\nvalidation: ${withMemory.toFixed(3)} nats/char (${bits(withMemory)} bpc) with memory, ${without.toFixed(3)} (${bits(without)} bpc) without; ${result.steps} steps in ${result.seconds.toFixed(0)} s`);
  const prompt = 'Call me Ishmael. ';
  const ids = tn.txl.generateSync(model, tokenizer.encode(prompt), { maxNewTokens: 200, temperature: 0.8, topK: 40, seed: 1 });
  console.log(`sample with memory (temperature 0.8, top-k 40):\n${prompt}${tokenizer.decode(ids)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
