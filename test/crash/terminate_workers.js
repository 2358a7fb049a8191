'use strict';
// Child process of crash_safety.test.ts: starts workers that churn through the addon (see
// worker.js, mode 'churn') and terminates each at a random moment. An abort or a crash
// ends this process with a signal, which the test reports; success prints one JSON line.
// Usage: node terminate_workers.js ROUNDS SEED DIR
const { Worker } = require('node:worker_threads');
const path = require('node:path');

const [rounds, seed, dir] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
let state = seed >>> 0 || 1;
const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);

async function main() {
  let terminated = 0;
  for (let i = 0; i < rounds; i++) {
    const worker = new Worker(path.join(__dirname, '..', 'worker.js'), { workerData: { mode: 'churn', dir } });
    const exit = new Promise((resolve) => worker.once('exit', resolve));
    const failed = new Promise((resolve) => worker.on('message', (m) => m.failed && resolve(m.failed)));
    // Terminate before the addon loads, while it loads, or while it churns.
    const when = random() < 0.2 ? random() * 30 : 30 + random() * 120;
    await new Promise((r) => setTimeout(r, when));
    await worker.terminate();
    await exit;
    const why = await Promise.race([failed, Promise.resolve(null)]);
    if (why) throw new Error(`worker failed instead of churning: ${why}`);
    terminated++;
  }
  const tn = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));
  const sum = tn.tidy(() => tn.ones([3, 3]).matmul(tn.ones([3, 3])).sum().item());
  process.stdout.write(JSON.stringify({ terminated, sum }) + '\n');
}
main().catch((e) => {
  process.stderr.write(String(e && e.stack) + '\n');
  process.exit(2);
});
