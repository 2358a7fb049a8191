/**
 * `npm run bench [name...]`: runs the benchmarks side by side with PyTorch from
 * /usr/bin/python3 on the same libtorch and prints Markdown tables for bench/RESULTS.md.
 * Threads are set explicitly and equally on both sides (libtorch and OpenBLAS).
 */
import * as os from 'node:os';

import * as tn from '../lib';
import { attention } from './attention';
import { linear } from './linear';
import { overhead } from './overhead';
import { swin } from './swin';
import { swinModel } from './swin_model';
import { train } from './train';
import { txl } from './txl';
import { table } from './util';

const benches: Record<string, () => string> = {
  overhead: () =>
    [1, 2].map((threads) => table(`Per-op overhead, ${threads} thread${threads > 1 ? 's' : ''} (us per op, median of 7)`, 'us', overhead(threads))).join('\n'),
  attention,
  linear,
  swin: () => [swin(), swinModel()].join('\n'),
  swinModel,
  train,
  txl,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(benches);
const c = tn.config();
console.log(`# transformer-native benchmarks\n\n${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, libtorch ${c.torchVersion}, ${c.blas.split(' ').slice(0, 2).join(' ')}, Node ${process.version}\n`);
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(bench());
}
