/**
 * tn.train: a run resumed from a checkpoint continues with bit-identical losses (dropout and
 * data drawn from (seed, step)); Ctrl-C (SIGINT) stops after the step in progress and saves;
 * gradient accumulation over two halves equals one full batch; loss curves as CSV and SVG.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tn from '../lib';
import { expectClose, expectThrows } from './helpers';

jest.setTimeout(60_000);

const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * i + 3 * i) % 13);

function setup(steps: number, dir?: string): { trainer: tn.train.Trainer; model: tn.models.GPT; spec: tn.train.FitSpec } {
  tn.manualSeed(0);
  const model = new tn.models.GPT({ vocabSize: 13, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.2 });
  const optimizer = new tn.optim.AdamW(model.parameters(), { lr: 1e-2 });
  const scheduler = new tn.optim.LinearWarmupCosine(optimizer, { warmupSteps: 2, totalSteps: steps });
  const trainer = new tn.train.Trainer({ model, optimizer, scheduler, maxSteps: steps, seed: 9, clipGradNorm: 1, evalEvery: 3, checkpointDir: dir, progress: false, logEvery: 1000 });
  const spec: tn.train.FitSpec = {
    loss: (step) => {
      const { x, y } = tn.data.randomBlocks(ids, { batchSize: 4, blockSize: 16, seed: 9, step });
      return model.forward(x, { targets: y }).loss!;
    },
    evaluate: () => {
      const { x, y } = tn.data.randomBlocks(ids, { batchSize: 4, blockSize: 16, seed: 1, step: 0 });
      return model.forward(x, { targets: y }).loss!.item() as number;
    },
  };
  return { trainer, model, spec };
}

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tn-train-'));

describe('Trainer', () => {
  it('resuming from a checkpoint gives bit-identical losses to an uninterrupted run', async () => {
    const whole = setup(10);
    const r = await whole.trainer.fit(whole.spec);
    expect(r.steps).toBe(10);
    const lossesWhole = r.curve.points.map((p) => p.loss);

    const dir = path.join(tmp(), 'ckpt');
    const first = setup(10, dir);
    // Stop after 5 steps: run with maxSteps 10 but interrupt via SIGINT at step 5.
    const loss = first.spec.loss;
    first.spec.loss = (step, micro) => {
      if (step === 4) process.emit('SIGINT');
      return loss(step, micro);
    };
    const part = await first.trainer.fit(first.spec);
    expect(part.interrupted).toBe(true);
    expect(part.steps).toBe(5);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.json']) expect(fs.existsSync(path.join(dir, f))).toBe(true);

    const second = setup(10, dir);
    second.trainer.resume(dir);
    expect(second.trainer.step).toBe(5);
    const rest = await second.trainer.fit(second.spec);
    expect(rest.steps).toBe(10);
    expect(rest.curve.points.map((p) => p.loss)).toEqual(lossesWhole); // exactly, history included
    const pw = whole.model.parameters();
    second.model.parameters().forEach((p, i) => expectClose(p, pw[i], 0, 0));
    [whole, first, second].forEach((s) => s.model.dispose());
  });

  it('refuses a checkpoint made with another seed, and a missing one', () => {
    const dir = path.join(tmp(), 'ckpt');
    const a = setup(4, dir);
    a.trainer.save();
    const b = setup(4);
    const other = new tn.train.Trainer({ model: b.model, optimizer: new tn.optim.AdamW(b.model.parameters()), maxSteps: 4, seed: 1 });
    expectThrows(() => other.resume(dir), 'RangeError', /made with seed 9, but this trainer has seed 1/);
    expectThrows(() => other.resume(path.join(tmp(), 'nothing')), 'Error', /is not a checkpoint/);
    a.model.dispose();
    b.model.dispose();
  });

  it('gradient accumulation over two half batches equals one full batch', async () => {
    const run = async (accum: number): Promise<tn.Tensor[]> => {
      tn.manualSeed(0);
      const model = new tn.models.GPT({ vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 });
      const optimizer = new tn.optim.SGD(model.parameters(), { lr: 0.5 });
      const trainer = new tn.train.Trainer({ model, optimizer, maxSteps: 1, gradAccumulation: accum, progress: false });
      const { x, y } = tn.data.randomBlocks(ids, { batchSize: 4, blockSize: 8, seed: 2, step: 0 });
      await trainer.fit({ loss: (_s, micro) => (accum === 1 ? model.forward(x, { targets: y }) : model.forward(x.narrow(0, 2 * micro, 2), { targets: y.narrow(0, 2 * micro, 2) })).loss! });
      return model.parameters();
    };
    const one = await run(1);
    const two = await run(2);
    one.forEach((p, i) => expectClose(two[i], p, 1e-6, 1e-5));
  });

  it('writes the loss curve as CSV and SVG', async () => {
    const s = setup(4);
    await s.trainer.fit(s.spec);
    const prefix = path.join(tmp(), 'curve', 'loss');
    const files = await s.trainer.saveCurve(prefix, 'test');
    const csv = fs.readFileSync(files[0], 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,split,loss,lr');
    expect(csv.length).toBe(1 + 4 + 2); // 4 train points, validation at steps 3 and 4
    expect(csv[1]).toMatch(/^1,train,\d+\.\d+,0\.005$/);
    const svg = fs.readFileSync(files[1], 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('validation');
    s.model.dispose();
  });
});

describe('checkpoints survive crashes mid-save', () => {
  /** A small model and optimiser whose values say which save they come from. */
  function parts(v: number): { model: tn.nn.Linear; optimizer: tn.optim.SGD } {
    const model = new tn.nn.Linear(4, 3);
    tn.noGrad(() => model.parameters().forEach((p) => p.fill_(v)));
    return { model, optimizer: new tn.optim.SGD(model.parameters(), { lr: v }) };
  }
  const save = (dir: string, v: number): void => {
    const p = parts(v);
    tn.train.saveCheckpoint(dir, p, { step: v, seed: 0, history: [] });
    p.model.dispose();
  };
  /** Loads `dir` into fresh parts; returns the step, after checking that every part agrees. */
  const load = (dir: string): number => {
    const p = parts(0);
    try {
      const s = tn.train.loadCheckpoint(dir, p);
      expect([p.optimizer.paramGroups[0].lr, ...p.model.parameters().map((t) => t.max().item())]).toEqual([s.step, s.step, s.step]);
      return s.step;
    } finally {
      p.model.dispose();
    }
  };
  const deadPid = (): number => Number(require('node:child_process').spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

  it('a crash between the two renames of the swap: load finds <dir>.prev, the next save puts things back', () => {
    const dir = path.join(tmp(), 'ckpt');
    save(dir, 1);
    fs.renameSync(dir, `${dir}.prev`); // the state right after the first rename
    expect(load(dir)).toBe(1);
    expect(tn.train.readTrainerState(dir).step).toBe(1);
    save(dir, 2);
    expect(load(dir)).toBe(2);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
  });

  it('the next save removes what crashed saves left: temporaries of dead processes, an old <dir>.prev', () => {
    const dir = path.join(tmp(), 'ckpt');
    save(dir, 1);
    const parent = path.dirname(dir);
    fs.cpSync(dir, `${dir}.prev`, { recursive: true }); // a crash while removing the old checkpoint
    fs.mkdirSync(`${dir}.tmp-${deadPid()}-0123456789ab`); // a crash while writing a new one
    fs.mkdirSync(`${dir}.tmp-${deadPid()}`); // the same, from an earlier version
    fs.mkdirSync(`${dir}.tmp-${process.ppid}-0123456789ab`); // a save running in another process
    expect(load(dir)).toBe(1);
    save(dir, 2);
    expect(load(dir)).toBe(2);
    expect(fs.readdirSync(parent).sort()).toEqual(['ckpt', `ckpt.tmp-${process.ppid}-0123456789ab`]);
  });

  it('a save that fails leaves the previous checkpoint and no temporary', () => {
    const dir = path.join(tmp(), 'ckpt');
    save(dir, 1);
    const p = parts(2);
    p.model.stateDict = () => {
      throw new Error('disk on fire');
    };
    expectThrows(() => tn.train.saveCheckpoint(dir, p, { step: 2, seed: 0, history: [] }), 'Error', /disk on fire/);
    p.model.dispose();
    expect(load(dir)).toBe(1);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['ckpt']);
  });

  it('files of two different saves are never loaded together', () => {
    const a = path.join(tmp(), 'a');
    const b = path.join(tmp(), 'b');
    save(a, 1);
    save(b, 2);
    fs.copyFileSync(path.join(b, 'model.safetensors'), path.join(a, 'model.safetensors'));
    expectThrows(() => load(a), 'Error', /its files belong to different saves/);
  });

  it('refuses to replace a folder that is not a checkpoint', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'precious');
    const p = parts(1);
    expectThrows(() => tn.train.saveCheckpoint(dir, p, { step: 1, seed: 0, history: [] }), 'Error', /holds no checkpoint \(no trainer\.json\); refusing to replace it/);
    p.model.dispose();
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('precious');
  });
});
