/**
 * Autograd semantics: grad modes, accumulation, autograd.grad, detach, requiresGrad_, and
 * the thread settings.
 */
import * as tn from '../lib';
import { expectClose, expectThrows } from './helpers';

const F = tn.nn.functional;

afterEach(() => {
  // No test may leave a mode switched.
  expect(tn.isGradEnabled()).toBe(true);
  expect(tn.isInferenceModeEnabled()).toBe(false);
});

describe('grad modes', () => {
  test('noGrad: results do not require grad; the mode is restored, also after a throw', () => {
    tn.tidy(() => {
      const x = tn.ones([3], { requiresGrad: true });
      const y = tn.noGrad(() => {
        expect(tn.isGradEnabled()).toBe(false);
        return x.mul(2).add(x.exp());
      });
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(tn.isGradEnabled()).toBe(true);
      expect(x.mul(2).requiresGrad).toBe(true);
      expect(() => tn.noGrad(() => { throw new Error('inside'); })).toThrow('inside');
      expect(tn.isGradEnabled()).toBe(true);
      // The value flows through.
      expect(tn.noGrad(() => 42)).toBe(42);
    });
  });

  test('enableGrad inside noGrad turns tracking back on, and nesting unwinds', () => {
    tn.tidy(() => {
      const x = tn.ones([2], { requiresGrad: true });
      tn.noGrad(() => {
        const inner = tn.enableGrad(() => {
          expect(tn.isGradEnabled()).toBe(true);
          return x.mul(3);
        });
        expect(inner.requiresGrad).toBe(true);
        expect(inner.gradFn).toMatch(/^MulBackward/);
        expect(tn.isGradEnabled()).toBe(false);
        tn.noGrad(() => expect(tn.isGradEnabled()).toBe(false));
        expect(tn.isGradEnabled()).toBe(false);
      });
    });
  });

  test('setGradEnabled switches globally', () => {
    tn.tidy(() => {
      const x = tn.ones([2], { requiresGrad: true });
      tn.setGradEnabled(false);
      try {
        expect(tn.isGradEnabled()).toBe(false);
        expect(x.mul(2).requiresGrad).toBe(false);
      } finally {
        tn.setGradEnabled(true);
      }
      expect(x.mul(2).requiresGrad).toBe(true);
    });
  });

  test('inferenceMode: no graph; its tensors cannot enter autograd outside it', () => {
    tn.tidy(() => {
      const x = tn.ones([2], { requiresGrad: true });
      const [small, big] = tn.inferenceMode(() => {
        expect(tn.isInferenceModeEnabled()).toBe(true);
        expect(tn.isGradEnabled()).toBe(false);
        const r = x.mul(2);
        expect(r.requiresGrad).toBe(false);
        // The addon's tiny-tensor path and libtorch make the same kind of tensor.
        return [tn.ones([2]).add(tn.ones([2])), tn.ones([1000]).add(tn.ones([1000]))];
      });
      expect(tn.isInferenceModeEnabled()).toBe(false);
      for (const t of [small, big.narrow(0, 0, 2)]) {
        expectThrows(() => t.mul(x), 'Error', /Inference tensors cannot be saved for backward/);
        expectThrows(() => t.add_(1), 'Error', /[Ii]nplace update to inference tensor/);
        // A clone is a normal tensor.
        expect(t.clone().mul(x).requiresGrad).toBe(true);
      }
      expect(() => tn.inferenceMode(() => { throw new Error('x'); })).toThrow('x');
      expect(tn.isInferenceModeEnabled()).toBe(false);
    });
  });
});

describe('backward and gradients', () => {
  test('gradients accumulate across two backward calls with retainGraph', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward(null, { retainGraph: true });
      expect(x.grad!.toArray()).toEqual([2, 4, 6]);
      y.backward();
      expect(x.grad!.toArray()).toEqual([4, 8, 12]);
      // Without retainGraph the graph is gone.
      expectThrows(() => y.backward(), 'Error', /second time/);
      // Resetting the gradient.
      x.grad = null;
      expect(x.grad).toBeNull();
      x.mul(3).sum().backward();
      expect(x.grad!.toArray()).toEqual([3, 3, 3]);
      // .grad is a handle to the same gradient: zero_ in place clears it.
      x.grad!.zero_();
      expect(x.grad!.toArray()).toEqual([0, 0, 0]);
      x.grad = tn.tensor([1, 1, 1], { dtype: 'float64' });
      x.sum().backward();
      expect(x.grad!.toArray()).toEqual([2, 2, 2]);
    });
  });

  test('backward with an explicit gradient through a small network', () => {
    tn.tidy(() => {
      const w = tn.tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
      const x = tn.tensor([[1, -1]], { dtype: 'float64' });
      const y = F.linear(x, w); // [[-1, -1]]
      expect(y.toArray()).toEqual([[-1, -1]]);
      y.backward(tn.tensor([[1, 10]], { dtype: 'float64' }));
      // dL/dw[i][j] = g[i] * x[j]
      expect(w.grad!.toArray()).toEqual([[1, -1], [10, -10]]);
    });
  });

  test('gradients flow to several leaves and only to leaves', () => {
    tn.tidy(() => {
      const a = tn.tensor([2], { dtype: 'float64', requiresGrad: true });
      const b = tn.tensor([5], { dtype: 'float64', requiresGrad: true });
      const c = tn.tensor([7], { dtype: 'float64' });
      const mid = a.mul(b);
      expect(mid.isLeaf).toBe(false);
      expect(a.isLeaf).toBe(true);
      mid.add(c).pow(2).sum().backward(); // (ab + c)^2
      expect(a.grad!.item()).toBe(2 * (2 * 5 + 7) * 5);
      expect(b.grad!.item()).toBe(2 * (2 * 5 + 7) * 2);
      expect(c.grad).toBeNull();
      expect(mid.grad).toBeNull(); // a non-leaf without retainGrad
    });
  });

  test('retainGrad keeps the gradient of a non-leaf', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
      const h = x.mul(3).retainGrad();
      h.pow(2).sum().backward();
      expect(h.grad!.toArray()).toEqual([6, 12]);
      expect(x.grad!.toArray()).toEqual([18, 36]);
    });
  });

  test('gradFn names the autograd node', () => {
    tn.tidy(() => {
      const x = tn.randn([2, 2], { requiresGrad: true });
      expect(x.gradFn).toBeNull();
      expect(x.add(x).gradFn).toBe('AddBackward0');
      expect(x.sum().gradFn).toBe('SumBackward0');
      expect(x.matmul(x).gradFn).toBe('MmBackward0');
      expect(x.exp().gradFn).toBe('ExpBackward0');
      expect(x.softmax(-1).gradFn).toBe('SoftmaxBackward0');
    });
  });
});

describe('autograd.grad', () => {
  test('returns the gradients without touching .grad', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
      const y = tn.tensor([4, 5, 6], { dtype: 'float64', requiresGrad: true });
      const z = x.mul(y).sum();
      const [gx, gy] = tn.autograd.grad(z, [x, y]);
      expect(gx!.toArray()).toEqual([4, 5, 6]);
      expect(gy!.toArray()).toEqual([1, 2, 3]);
      expect(x.grad).toBeNull();
      expect(y.grad).toBeNull();
    });
  });

  test('with gradOutputs, and of several outputs', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
      const [g] = tn.autograd.grad(x.mul(x), x, { gradOutputs: [tn.tensor([1, 10], { dtype: 'float64' })] });
      expect(g!.toArray()).toEqual([2, 40]);
      const [g2] = tn.autograd.grad([x.sum(), x.mul(3).sum()], [x]);
      expect(g2!.toArray()).toEqual([4, 4]);
    });
  });

  test('createGraph gives higher derivatives: d²(x³)/dx² = 6x', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2, -3], { dtype: 'float64', requiresGrad: true });
      const [d1] = tn.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
      expect(d1!.toArray()).toEqual([3, 12, 27]);
      expect(d1!.requiresGrad).toBe(true);
      const [d2] = tn.autograd.grad(d1!.sum(), x);
      expect(d2!.toArray()).toEqual([6, 12, -18]);
    });
  });

  test('retainGraph allows a second call', () => {
    tn.tidy(() => {
      const x = tn.tensor([3], { dtype: 'float64', requiresGrad: true });
      const y = x.exp().sum();
      const [a] = tn.autograd.grad(y, x, { retainGraph: true });
      const [b] = tn.autograd.grad(y, x);
      expectClose(a!, b!, 0, 0);
      expect(a!.item()).toBeCloseTo(Math.exp(3), 12);
      expectThrows(() => tn.autograd.grad(y, x), 'Error', /second time/);
    });
  });
});

describe('detach and requiresGrad_', () => {
  test('detach shares data but leaves the graph', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
      const y = x.mul(2);
      const d = y.detach();
      expect(d.requiresGrad).toBe(false);
      expect(d.gradFn).toBeNull();
      expect(d.isLeaf).toBe(true);
      d.fill_(7); // same storage as y
      expect(y.toArray()).toEqual([7, 7]);
      // A computation through the detached tensor does not reach x.
      const z = x.mul(d).sum();
      z.backward();
      expect(x.grad!.toArray()).toEqual([7, 7]);
    });
  });

  test('requiresGrad_ and the requiresGrad setter', () => {
    tn.tidy(() => {
      const x = tn.ones([2]);
      expect(x.requiresGrad).toBe(false);
      expect(x.requiresGrad_()).toBe(x);
      expect(x.requiresGrad).toBe(true);
      x.requiresGrad_(false);
      expect(x.requiresGrad).toBe(false);
      x.requiresGrad = true;
      expect(x.mul(2).requiresGrad).toBe(true);
      expectThrows(() => x.requiresGrad_('yes' as unknown as boolean), 'TypeError');
      // Not on a non-leaf: as PyTorch.
      const y = x.mul(2);
      expectThrows(() => y.requiresGrad_(false), 'Error', /non-leaf|leaf/);
    });
  });

  test('clone is differentiable, detach().clone() is not', () => {
    tn.tidy(() => {
      const x = tn.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
      x.clone().mul(5).sum().backward();
      expect(x.grad!.toArray()).toEqual([5, 5]);
      expect(x.detach().clone().requiresGrad).toBe(false);
    });
  });
});

describe('threads', () => {
  test('setNumThreads(1) then getNumThreads() is 1; restored afterwards', () => {
    const before = tn.getNumThreads();
    expect(before).toBeGreaterThanOrEqual(1);
    try {
      tn.setNumThreads(1);
      expect(tn.getNumThreads()).toBe(1);
      expect(tn.config().numThreads).toBe(1);
      // Still computes correctly with one thread.
      tn.tidy(() => {
        const a = tn.arange(10000, undefined, 1, { dtype: 'float64' });
        expect(a.sum().item()).toBe(49995000);
      });
    } finally {
      tn.setNumThreads(before);
    }
    expect(tn.getNumThreads()).toBe(before);
  });

  test('config reports the libtorch in use', () => {
    const c = tn.config();
    expect(c.torchVersion).toMatch(/^\d+\.\d+/);
    expect(typeof c.cudaAvailable).toBe('boolean');
    expect(tn.cuda.isAvailable()).toBe(c.cudaAvailable);
    expect(c.numThreads).toBe(tn.getNumThreads());
  });
});

describe('libtorch warnings', () => {
  test('become one process warning of type TorchWarning per distinct message, not glog text on stderr', () => {
    // A child process: the warning is emitted once per environment, so this test needs a fresh one.
    const script = `const tn = require(${JSON.stringify(require('node:path').resolve(__dirname, '..', 'dist', 'lib', 'index.js'))});
      const x = tn.ones([2], { requiresGrad: true }); const y = x.mul(2); y.grad; y.grad; y.grad;`;
    const r = require('node:child_process').spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr.match(/TorchWarning: The \.grad attribute of a Tensor that is not a leaf Tensor/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/InitGoogleLogging|TensorBody\.h/);
  });
});
