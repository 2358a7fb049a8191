/**
 * Child process of bench/attention.ts: the peak memory of one attention forward, alone in a
 * fresh process so that freed-but-resident heap from earlier work cannot hide it.
 *
 *   node dist/bench/attention_memory.js N fused|math CAUSAL  -> {"extra_bytes": ...}
 *
 * Resets the kernel's high-water mark (`/proc/self/clear_refs` ← 5, Linux ≥ 4.0), runs the
 * forward and reports VmHWM − RSS before − the output's own bytes.
 */
import * as fs from 'node:fs';

import * as tn from '../lib';
import { native, opId } from '../lib/binding';

function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

const [n, mode, causalArg] = process.argv.slice(2);
const N = Number(n);
const causal = causalArg === 'true';
tn.setNumThreads(1, 1);
const run = (q: tn.Tensor, k: tn.Tensor, v: tn.Tensor): tn.Tensor =>
  mode === 'math'
    ? tn.Tensor._wrap(native.op(opId('mathAttention'), q.id, k.id, v.id, null, 0, causal) as number)
    : tn.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: causal });
const [q, k, v] = [0, 1, 2].map(() => tn.randn([1, 8, N, 64]));
tn.noGrad(() => {
  tn.tidy(() => run(q.narrow(2, 0, 8), k.narrow(2, 0, 8), v.narrow(2, 0, 8))); // load the code paths
  const base = status('VmRSS');
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const out = run(q, k, v);
  const peak = status('VmHWM');
  console.log(JSON.stringify({ extra_bytes: peak - base - out.numel() * 4 }));
});
