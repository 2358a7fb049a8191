'use strict';
// Worker script of workers.test.ts: loads the built package (dist/, made by `npm test` or
// `npx tsc -p tsconfig.build.json`) inside a worker_threads worker and computes.
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');

// dist/lib/index.js with the current tsconfig (rootDir "."); dist/index.js if it moves.
const candidates = ['../dist/lib/index.js', '../dist/index.js'].map((p) => path.join(__dirname, p));
const entry = candidates.find((p) => fs.existsSync(p));
if (!entry) throw new Error(`worker.js: no build found (${candidates.join(', ')}); run npx tsc -p tsconfig.build.json`);
const tn = require(entry);

/** Deterministic inputs from a seed, the same as workers.test.ts builds on the main thread. */
function inputs(seed, n) {
  const a = tn.arange(n * n, undefined, 1, { dtype: 'float64' }).reshape(n, n).mul(0.001 * seed).sin();
  const b = tn.arange(n * n, undefined, 1, { dtype: 'float64' }).reshape(n, n).mul(0.002).cos();
  return { a, b };
}

async function main() {
  const { mode, seed, n, iterations } = workerData;
  if (mode === 'compute') {
    const out = tn.tidy(() => {
      const { a, b } = inputs(seed, n);
      const c = a.matmul(b).tanh();
      // A gradient, too.
      const w = b.clone().requiresGrad_();
      a.matmul(w).pow(2).mean().backward();
      return { c: c.toTypedArray({ copy: true }), grad: w.grad.toTypedArray({ copy: true }), sum: c.sum().item() };
    });
    const { a, b } = tn.tidy(() => inputs(seed, n));
    const asyncRes = await a.matmulAsync(b);
    const asyncSum = tn.tidy(() => asyncRes.sum().item());
    tn.dispose([a, b, asyncRes]);
    parentPort.postMessage({ ...out, asyncSum, live: tn.memory().liveTensors, threadId: require('node:worker_threads').threadId, version: tn.config().torchVersion });
  } else if (mode === 'busy') {
    // Keeps the native worker and the intra-op pool busy until terminated.
    parentPort.postMessage({ started: true });
    const x = tn.randn([300, 300], { dtype: 'float64' });
    for (let i = 0; i < iterations; i++) {
      const r = await x.matmulAsync(x);
      tn.tidy(() => r.tanh().sum());
      r.dispose();
    }
    parentPort.postMessage({ done: true });
  } else if (mode === 'churn') {
    // Until terminated: synchronous ops (some of which throw), file I/O through the addon,
    // views, and async ops, so that termination lands inside every kind of native call.
    const file = path.join(workerData.dir, `churn-${require('node:worker_threads').threadId}.safetensors`);
    parentPort.postMessage({ started: true });
    for (let i = 0; ; i++) {
      tn.tidy(() => {
        const a = tn.randn([64, 64]);
        const v = a.narrow(0, 1, 32).transpose(0, 1);
        tn.saveSafetensors(file, { a, v: v.contiguous() });
        const back = tn.loadSafetensors(file);
        back.a.add_(1).sum().item();
        // Errors thrown from native code (and from the TS checks), possibly mid-termination.
        for (const bad of [() => a.matmul(tn.ones([3, 3])), () => tn.zeros([2], { dtype: 'int9' }), () => back.a.dispose() || back.a.sum(), () => a.chunk(0)]) {
          try {
            bad();
          } catch {
            // expected
          }
        }
      });
      if (i % 4 === 0) {
        const x = tn.randn([128, 128]);
        const p = x.matmulAsync(x);
        if (i % 8 === 0) await p.then((r) => r.dispose());
        x.dispose();
      }
    }
  } else if (mode === 'error') {
    try {
      tn.ones([2, 3]).matmul(tn.ones([2, 3]));
    } catch (e) {
      parentPort.postMessage({ name: e.name, message: e.message, isError: e instanceof Error });
    }
  }
}

main().catch((e) => {
  parentPort.postMessage({ failed: String(e && e.stack) });
});
