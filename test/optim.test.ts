/**
 * Optimisers against torch.optim (test/reference/make_nn_fixtures.py): the parameters after
 * each of 5 steps over a fixed gradient sequence, the final state in PyTorch's state-dict
 * layout, a state-dict round trip that continues identically; clipGradNorm against
 * torch.nn.utils.clip_grad_norm_; StepLR against torch's, LinearWarmupCosine against its
 * formula.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath, flat } from './helpers';

const optim = tn.optim;
const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('optim'));

interface OptimCase {
  name: string;
  optimiser: 'SGD' | 'Adam' | 'AdamW';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  options: Record<string, any>;
  dtype: 'float32' | 'float64';
  steps: number;
  param_group: Record<string, unknown>;
}

const cases: OptimCase[] = JSON.parse(metadata!.optim);
const N_PARAMS = 3;

function make(c: OptimCase, params: Tensor[]): tn.optim.Optimizer<object> {
  const o = c.options;
  if (c.optimiser === 'SGD')
    return new optim.SGD(params, { lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weight_decay, nesterov: o.nesterov, maximize: o.maximize });
  const opts = { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, amsgrad: o.amsgrad, maximize: o.maximize };
  return c.optimiser === 'Adam' ? new optim.Adam(params, opts) : new optim.AdamW(params, opts);
}

const initParams = (c: OptimCase): Tensor[] => Array.from({ length: N_PARAMS }, (_, i) => F[`${c.name}.p${i}.init`].clone().requiresGrad_(true));

/** Runs steps [from, to) and checks the parameters after each (bit-exact). */
function run(c: OptimCase, opt: tn.optim.Optimizer<object>, params: Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    opt.zeroGrad();
    params.forEach((p, i) => (p.grad = F[`${c.name}.p${i}.grad${s}`].clone()));
    opt.step();
    params.forEach((p, i) => expectClose(p, F[`${c.name}.p${i}.after${s}`], 0, 0, { what: `p${i} after step ${s}` }));
  }
}

describe('optimisers against torch.optim (bit-exact over 5 steps)', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    tn.tidy(() => {
      const params = initParams(c);
      const opt = make(c, params);
      run(c, opt, params, 0, c.steps);
      // PyTorch's state-dict layout: the hyper-parameters and every state tensor
      const sd = opt.stateDict();
      expect(sd.param_groups).toEqual([{ ...c.param_group }]);
      const expected: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(F)) if (k.startsWith(`${c.name}.state.`)) expected[k.slice(c.name.length + 7)] = t;
      const got: Record<string, Tensor> = {};
      for (const [i, st] of Object.entries(sd.state)) for (const [k, t] of Object.entries(st)) got[`${i}.${k}`] = t;
      expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
      for (const [k, t] of Object.entries(expected)) expectClose(got[k], t, 0, 0, { what: `state ${k}` });
      opt.dispose();
    });
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s: state dict round trip after 3 steps continues identically', (_n, c) => {
    tn.tidy(() => {
      const params = initParams(c);
      const opt = make(c, params);
      run(c, opt, params, 0, 3);
      const sd = opt.stateDict();
      opt.dispose();
      // a new optimiser with other hyper-parameters takes them (and the state) from the dict
      const params2 = params.map((p) => p.detach().clone().requiresGrad_(true));
      const opt2 = c.optimiser === 'SGD' ? new optim.SGD(params2, { lr: 5 }) : c.optimiser === 'Adam' ? new optim.Adam(params2, { lr: 5 }) : new optim.AdamW(params2, { lr: 5 });
      opt2.loadStateDict(sd);
      tn.dispose(sd);
      run(c, opt2, params2, 3, c.steps);
      opt2.dispose();
    });
  });
});

describe("PyTorch's own optimiser state loads and continues", () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s: torch state after 3 steps, then steps 4 and 5', (_n, c) => {
    tn.tidy(() => {
      const params = Array.from({ length: N_PARAMS }, (_, i) => F[`${c.name}.p${i}.after2`].clone().requiresGrad_(true));
      const opt = make(c, params);
      const flatState: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(F)) if (k.startsWith(`${c.name}.state3.`)) flatState[`state.${k.slice(c.name.length + 8)}`] = t;
      opt.loadStateDict(optim.unflattenOptimizerState(flatState, { param_groups: JSON.stringify([{ ...c.param_group, params: [0, 1, 2] }]) }));
      run(c, opt, params, 3, c.steps);
      opt.dispose();
    });
  });
});

describe('optimiser behaviour', () => {
  test('parameter groups, zeroGrad, parameters without gradients, a fused call per group', () => {
    tn.tidy(() => {
      const a = tn.ones([2], { requiresGrad: true });
      const b = tn.ones([3], { requiresGrad: true });
      const c = tn.ones([1], { requiresGrad: true });
      const opt = new optim.SGD([{ params: [a, b] }, { params: [c], lr: 1 }], { lr: 0.5, momentum: 0.9 });
      expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.5, 1]);
      a.grad = tn.ones([2]);
      c.grad = tn.ones([1]);
      opt.step(); // b has no gradient: untouched, no state
      expect(flat(a)).toEqual([0.5, 0.5]);
      expect(flat(b)).toEqual([1, 1, 1]);
      expect(flat(c)).toEqual([0]);
      const sd = opt.stateDict();
      expect(Object.keys(sd.state)).toEqual(['0', '2']);
      expect(sd.param_groups.map((g) => g.params)).toEqual([[0, 1], [2]]);
      opt.zeroGrad({ setToNone: false });
      expect(flat(a.grad!)).toEqual([0, 0]);
      expect(b.grad).toBeNull();
      opt.zeroGrad();
      expect(a.grad).toBeNull();
      // state tensors survive tidy scopes; dispose frees them
      opt.dispose();
      expectThrows(() => opt.step(), 'Error', /SGD.step: the optimizer has been disposed/);
    });
  });

  test('a model trained with AdamW: the loss falls', () => {
    tn.manualSeed(0);
    const model = new tn.nn.Sequential(new tn.nn.Linear(4, 16), new tn.nn.GELU(), new tn.nn.Linear(16, 1));
    const opt = new optim.AdamW(model.parameters(), { lr: 1e-2 });
    const x = tn.randn([64, 4]);
    const y = tn.tidy(() => x.sum(1, true).sin());
    const lossFn = new tn.nn.MSELoss();
    const losses: number[] = [];
    for (let i = 0; i < 100; i++) {
      opt.zeroGrad();
      losses.push(tn.tidy(() => {
        const l = lossFn.forward(model.forward(x), y);
        l.backward();
        return l.item() as number;
      }));
      opt.step();
    }
    expect(losses[99]).toBeLessThan(losses[0] * 0.5);
    expect(losses[99]).toBeLessThan(losses[50]);
    opt.dispose();
    model.dispose();
    tn.dispose([x, y]);
  });

  test('stepAsync runs on the native worker and equals step', async () => {
    const c = cases.find((k) => k.name === 'adamw_wd_amsgrad')!;
    const params = initParams(c);
    const opt = make(c, params);
    for (let s = 0; s < c.steps; s++) {
      opt.zeroGrad();
      params.forEach((p, i) => (p.grad = F[`${c.name}.p${i}.grad${s}`].clone()));
      await opt.stepAsync();
      params.forEach((p, i) => expectClose(p, F[`${c.name}.p${i}.after${s}`], 0, 0, { what: `p${i} after step ${s}` }));
    }
    opt.dispose();
    tn.dispose(params);
  });

  test('large groups update in parallel across tensors, bit-identical to one thread', () => {
    const threads = tn.getNumThreads();
    try {
      for (const make of [
        (ps: Tensor[]) => new optim.AdamW(ps, { lr: 1e-2, amsgrad: true }),
        (ps: Tensor[]) => new optim.Adam(ps, { lr: 1e-2, weightDecay: 0.1 }),
        (ps: Tensor[]) => new optim.SGD(ps, { lr: 1e-2, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
      ]) {
        tn.tidy(() => {
          tn.manualSeed(5);
          const init = [[300, 400], [400], [256, 512], [1000], [64, 64, 8]].map((s) => tn.randn(s));
          const grads = [0, 1, 2].map(() => init.map((p) => tn.randnLike(p)));
          const result = (n: number): Tensor[] => {
            tn.setNumThreads(n);
            const ps = init.map((p) => p.clone().requiresGrad_(true));
            const opt = make(ps);
            for (const g of grads) {
              ps.forEach((p, i) => (p.grad = g[i].clone()));
              opt.step();
            }
            opt.dispose();
            return ps;
          };
          const one = result(1);
          const two = result(2);
          one.forEach((p, i) => expectClose(two[i], p, 0, 0, { what: `param ${i}` }));
        });
      }
    } finally {
      tn.setNumThreads(threads);
    }
  });

  test('errors', () => {
    tn.tidy(() => {
      const p = tn.ones([2], { requiresGrad: true });
      expectThrows(() => new optim.SGD([], {}), 'RangeError', /SGD: got an empty parameter list/);
      expectThrows(() => new optim.SGD([p], { lr: -1 }), 'RangeError', /SGD.addParamGroup: lr: expected a number in \[0, Infinity\], but got number -1/);
      expectThrows(() => new optim.SGD([p], { nesterov: true }), 'RangeError', /Nesterov momentum requires a momentum and zero dampening/);
      expectThrows(() => new optim.Adam([p], { betas: [1, 0.9] }), 'RangeError', /betas\[0\]: expected a number in \[0, 1\)/);
      expectThrows(() => new optim.Adam([p.mul(2)]), 'TypeError', /can't optimize a non-leaf Tensor/);
      expectThrows(() => new optim.Adam([{ params: [p] }, { params: [p] }]), 'RangeError', /more than one parameter group/);
      const opt = new optim.Adam([p]);
      expectThrows(() => opt.loadStateDict({ state: {}, param_groups: [] }), 'RangeError', /different number of parameter groups/);
      const sd = { state: { 0: { step: tn.full([], 1), exp_avg: tn.zeros([3]), exp_avg_sq: tn.zeros([2]) } }, param_groups: [{ ...opt.stateDict().param_groups[0] }] };
      expectThrows(() => opt.loadStateDict(sd), 'RangeError', /state\[0\].exp_avg has shape \[3\], but its parameter has shape \[2\]/);
      expect(new optim.AdamW([p]).paramGroups[0].weightDecay).toBe(0.01);
      expect(new optim.Adam([p]).paramGroups[0].weightDecay).toBe(0);
    });
  });
});

describe('clipGradNorm against torch.nn.utils.clip_grad_norm_', () => {
  const clips: { name: string; max_norm: number; norm_type: number | 'inf' }[] = JSON.parse(metadata!.clip);
  test.each(clips.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    tn.tidy(() => {
      const params = [0, 1, 2].map((i) => tn.zerosLike(F[`clip.${c.name}.g${i}`]).requiresGrad_(true));
      params.forEach((p, i) => (p.grad = F[`clip.${c.name}.g${i}`].clone()));
      const total = optim.clipGradNorm(params, c.max_norm, c.norm_type === 'inf' ? Infinity : c.norm_type);
      expectClose(total, F[`clip.${c.name}.total`], 0, 0, { what: 'total norm' });
      params.forEach((p, i) => expectClose(p.grad!, F[`clip.${c.name}.out${i}`], 0, 0, { what: `grad ${i}` }));
    });
  });

  test('no gradients: 0; parameters without gradients are skipped', () => {
    tn.tidy(() => {
      const p = tn.ones([2], { requiresGrad: true });
      expect(optim.clipGradNorm([p], 1).item()).toBe(0);
      const q = tn.ones([2], { requiresGrad: true });
      q.grad = tn.full([2], 3);
      expect(optim.clipGradNorm([p, q], 1).item()).toBeCloseTo(Math.sqrt(18), 5);
      expectClose(q.grad!.norm(), tn.tensor(1), 1e-5, 0, { checkDtype: false });
    });
  });
});

describe('learning-rate schedulers', () => {
  const steplrs: { name: string; step_size: number; gamma: number; lr: number; epochs: number }[] = JSON.parse(metadata!.steplr);
  test.each(steplrs.map((c) => [c.name, c] as const))('StepLR %s equals torch', (_n, c) => {
    tn.tidy(() => {
      const p = tn.zeros([1], { requiresGrad: true });
      const opt = new optim.SGD([p], { lr: c.lr });
      const s = new optim.StepLR(opt, { stepSize: c.step_size, gamma: c.gamma });
      const lrs = [s.getLastLr()[0]];
      for (let e = 0; e < c.epochs; e++) {
        opt.step();
        s.step();
        lrs.push(s.getLastLr()[0]);
      }
      expect(lrs).toEqual(flat(F[`steplr.${c.name}.lrs`]));
      expect(opt.paramGroups[0].lr).toBe(lrs[lrs.length - 1]);
    });
  });

  test('LinearWarmupCosine: formula, per group, state dict round trip', () => {
    tn.tidy(() => {
      const a = tn.zeros([1], { requiresGrad: true });
      const b = tn.zeros([1], { requiresGrad: true });
      const opt = new optim.AdamW([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 1 });
      const s = new optim.LinearWarmupCosine(opt, { warmupSteps: 4, totalSteps: 12, minLr: 0.1 });
      const seen: number[][] = [s.getLastLr()];
      for (let t = 1; t <= 14; t++) {
        s.step();
        seen.push(s.getLastLr());
      }
      const f = (t: number, base: number): number =>
        t < 4 ? (base * t) / 4 : t > 12 ? 0.1 : 0.1 + (base - 0.1) * 0.5 * (1 + Math.cos((Math.PI * (t - 4)) / 8));
      seen.forEach((lrs, t) => expect(lrs).toEqual([f(t, 1), f(t, 0.5)]));
      expect(seen[0]).toEqual([0, 0]);
      expect(seen[4]).toEqual([1, 0.5]);
      expect(seen[8][0]).toBeCloseTo(0.55, 12);
      expect(seen[12]).toEqual([0.1, 0.1]);
      expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.1]);
      // resume from a state dict
      const sd = s.stateDict();
      expect(sd).toMatchObject({ base_lrs: [1, 0.5], last_epoch: 14, _step_count: 15, warmup_steps: 4, total_steps: 12, min_lr: 0.1 });
      const opt2 = new optim.AdamW([{ params: [a] }, { params: [b] }], { lr: 1 });
      const s2 = new optim.LinearWarmupCosine(opt2, { warmupSteps: 1, totalSteps: 2 });
      s2.loadStateDict(sd);
      expect(s2.stateDict()).toEqual(sd);
      expectThrows(() => new optim.LinearWarmupCosine(opt, { warmupSteps: 5, totalSteps: 5 }), 'RangeError', /totalSteps: expected an integer >= 6/);
      expectThrows(() => new optim.StepLR(opt, { stepSize: 0 }), 'RangeError', /StepLR: stepSize/);
    });
  });
});

describe('checkpoint and resume', () => {
  /** A small model, AdamW, clipping and a warm-up + cosine schedule, on fixed data. */
  function setup(seed: number) {
    tn.manualSeed(seed);
    const model = new tn.nn.Sequential(new tn.nn.Linear(6, 12), new tn.nn.GELU(), new tn.nn.LayerNorm([12]), new tn.nn.Linear(12, 3));
    const opt = new optim.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.05, amsgrad: true });
    const sched = new optim.LinearWarmupCosine(opt, { warmupSteps: 3, totalSteps: 20, minLr: 1e-3 });
    return { model, opt, sched };
  }
  const data = tn.tidy(() => {
    tn.manualSeed(42);
    return { x: tn.randn([16, 6]), y: tn.randint(0, 3, [16]) };
  });
  const lossFn = new tn.nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
  function train({ model, opt, sched }: ReturnType<typeof setup>, steps: number, accumulate = 1): void {
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      for (let a = 0; a < accumulate; a++)
        tn.tidy(() => {
          const rows = 16 / accumulate;
          const x = data.x.narrow(0, a * rows, rows);
          const y = data.y.narrow(0, a * rows, rows);
          lossFn.forward(model.forward(x), y).div(accumulate).backward();
        });
      optim.clipGradNorm(model.parameters(), 1.0).dispose();
      opt.step();
      sched.step();
    }
  }

  test('model + optimiser + scheduler through safetensors bytes continue bit-identically', () => {
    const a = setup(1);
    train(a, 5);
    const modelBytes = tn.serializeSafetensors(tn.tidy(() => a.model.stateDict()));
    const flat = tn.tidy(() => optim.flattenOptimizerState(a.opt.stateDict()));
    const optBytes = tn.serializeSafetensors(flat.tensors, flat.metadata);
    tn.dispose(flat.tensors);
    const schedState = JSON.parse(JSON.stringify(a.sched.stateDict()));
    train(a, 6);

    const b = setup(2); // other initial weights: everything must come from the checkpoint
    b.model.loadStateDict(tn.loadSafetensors(modelBytes));
    const { tensors, metadata } = tn.loadSafetensorsWithMetadata(optBytes);
    b.opt.loadStateDict(optim.unflattenOptimizerState(tensors, metadata));
    tn.dispose(tensors);
    b.sched.loadStateDict(schedState);
    expect(b.opt.paramGroups[0].lr).toBe(schedState._last_lr[0]);
    train(b, 6);

    const sa = a.model.stateDict({ keepVars: true });
    const sb = b.model.stateDict({ keepVars: true });
    for (const k of Object.keys(sa)) expectClose(sb[k], sa[k], 0, 0, { what: k });
    expect(b.sched.getLastLr()).toEqual(a.sched.getLastLr());
    for (const s of [a, b]) {
      s.opt.dispose();
      s.model.dispose();
    }
  });

  test('gradient accumulation over 4 micro-batches matches the full batch', () => {
    const a = setup(3);
    const b = setup(3);
    train(a, 3, 1);
    train(b, 3, 4);
    const sa = a.model.stateDict({ keepVars: true });
    const sb = b.model.stateDict({ keepVars: true });
    for (const k of Object.keys(sa)) expectClose(sb[k], sa[k], 1e-5, 1e-4, { what: k });
    for (const s of [a, b]) {
      s.opt.dispose();
      s.model.dispose();
    }
  });
});
