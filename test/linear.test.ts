/**
 * Linear layers on oneDNN's sgemm (native/src/kernels/linear) against torch.nn.functional.linear
 * in float32 (fixtures from test/reference/make_linear_fixtures.py, torch 1.13 on OpenBLAS):
 * outputs and the gradients of x, w and b over 2-D to 4-D inputs, no bias, a transposed input,
 * a single row, a wide layer; plus what must keep going through libtorch (float64, autocast,
 * double backward, TN_LINEAR_GEMM=libtorch) and the autograd checks a custom node must keep.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

const F = tn.nn.functional;
const { tensors: T, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('linear'));
const CASES = JSON.parse(metadata.cases) as Record<string, { transposed: boolean; bias: boolean }>;
const ONEDNN = tn.config().linearGemm === 'oneDNN';

afterAll(() => tn.dispose(T));

describe('linear (float32) against PyTorch', () => {
  test('float32 CPU linear layers run on oneDNN where the libtorch loads libdnnl (Debian\'s does)', () => {
    const dnnlLoaded = require('node:fs').readFileSync('/proc/self/maps', 'utf8').includes('libdnnl.so');
    expect(tn.config().linearGemm).toBe(dnnlLoaded || tn.config().libtorchSource === 'system' ? 'oneDNN' : 'libtorch');
  });

  test.each(Object.keys(CASES))('%s: output and the gradients of x, w, b', (name) => {
    const { transposed, bias } = CASES[name];
    const x = T[`${name}.x`].clone().requiresGrad_();
    const w = T[`${name}.w`].clone().requiresGrad_();
    const b = bias ? T[`${name}.b`].clone().requiresGrad_() : null;
    const out = tn.tidy(() => {
      const xin = transposed ? x.transpose(-1, -2) : x;
      const y = F.linear(xin, w, b);
      y.mul(T[`${name}.g`]).sum().backward();
      return y.detach();
    });
    const K = w.shape[1];
    const tol = 3e-6 * Math.sqrt(K); // float32 sums of K terms, two different gemms
    expectClose(out, T[`${name}.out`], tol, 1e-5, { what: 'out' });
    expectClose(x.grad!, T[`${name}.dx`], tol, 1e-5, { what: 'dx' });
    expectClose(w.grad!, T[`${name}.dw`], 3e-6 * Math.sqrt(out.shape.slice(0, -1).reduce((a, d) => a * d, 1)), 1e-5, { what: 'dw' });
    if (b) expectClose(b.grad!, T[`${name}.db`], 1e-4, 1e-5, { what: 'db' });
    tn.dispose([x, w, b, out]);
  });

  test('without gradients (noGrad, inferenceMode) the output is the same as with them', () => {
    const [x, w, b] = [T['qkv3d.x'], T['qkv3d.w'], T['qkv3d.b']];
    tn.tidy(() => {
      const ref = T['qkv3d.out'];
      expectClose(tn.noGrad(() => F.linear(x, w, b)), ref, 2e-5, 1e-5);
      expectClose(tn.inferenceMode(() => F.linear(x, w, b)), ref, 2e-5, 1e-5);
    });
  });

  test('the node reads as PyTorch names nodes, and only the gradients asked for are computed', () => {
    tn.tidy(() => {
      const x = T['mlp2d.x'].clone().requiresGrad_();
      const w = T['mlp2d.w'];
      const y = F.linear(x, w, T['mlp2d.b']);
      expect(y.gradFn).toBe(ONEDNN ? 'LinearBackward' : 'AddmmBackward0');
      y.mul(T['mlp2d.g']).sum().backward();
      expectClose(x.grad!, T['mlp2d.dx'], 3e-5, 1e-5);
      expect(w.grad).toBeNull();
    });
  });

  test('double backward (createGraph) goes through differentiable formulas', () => {
    tn.tidy(() => {
      const run = (dtype: 'float32' | 'float64'): Tensor[] => {
        const x = T['qkv3d.x'].to(dtype).detach().requiresGrad_();
        const w = T['qkv3d.w'].to(dtype).detach().requiresGrad_();
        const y = F.linear(x, w);
        const [gw] = tn.autograd.grad(y.mul(T['qkv3d.g'].to(dtype)).sum(), w, { createGraph: true });
        gw!.pow(2).sum().backward();
        return [x.grad!.to('float64'), w.grad === null ? tn.zeros([1]) : w.grad.to('float64')];
      };
      const [dx32] = run('float32');
      const [dx64] = run('float64');
      expect(dx64.abs().max().item()).toBeGreaterThan(1);
      expectClose(dx32, dx64, 1e-3, 1e-4);
    });
  });

  test('modifying a saved input in place before backward is an autograd error, not a wrong gradient', () => {
    const w = T['mlp2d.w'].clone().requiresGrad_();
    const x = T['mlp2d.x'].clone();
    const y = F.linear(x, w);
    x.mul_(2);
    expectThrows(() => y.sum().backward(), 'Error', /modified by an inplace operation/);
    tn.dispose([w, x, y]);
  });

  test('float64, autocast and tiny products stay on libtorch', () => {
    tn.tidy(() => {
      const x = T['qkv3d.x'];
      const w = T['qkv3d.w'].clone().requiresGrad_();
      expect(F.linear(x.to('float64'), w.to('float64')).gradFn).toBe('UnsafeViewBackward0');
      const y = tn.autocast(() => F.linear(x, w));
      expect(y.dtype).toBe('bfloat16');
      expectClose(y.to('float32'), F.linear(x, w).detach(), 0.25, 0.02);
      const tiny = F.linear(tn.ones([2, 4]), tn.ones([3, 4]).requiresGrad_());
      expect(tiny.gradFn).toBe('MmBackward0');
      expectClose(tiny, tn.full([2, 3], 4), 0, 0);
    });
  });

  test('shape errors keep libtorch\'s message', () => {
    expectThrows(() => F.linear(tn.ones([4, 96]), tn.ones([288, 95])), 'Error', /mat1 and mat2 shapes cannot be multiplied \(4x96 and 95x288\)/);
  });

  test('TN_LINEAR_GEMM=libtorch turns the oneDNN path off', () => {
    const entry = path.resolve(__dirname, '..', 'dist', 'lib', 'index.js');
    const script = `const tn = require(${JSON.stringify(entry)});
      const y = tn.nn.functional.linear(tn.ones([64, 64]), tn.ones([64, 64]).requiresGrad_());
      console.log(JSON.stringify([tn.config().linearGemm, y.gradFn, y.sum().item()]));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TN_LINEAR_GEMM: 'libtorch' } });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['libtorch', 'MmBackward0', 64 * 64 * 64]);
  });
});
