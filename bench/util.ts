/** Shared benchmark helpers: medians, the Python baseline runner, table printing. */
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** One line of a side-by-side table (times in microseconds or milliseconds). */
export interface Row {
  case: string;
  node: number;
  python: number;
}

/** The median of a list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The Python that has Debian's torch (the same libtorch as the addon). */
export const PYTHON = process.env.TN_BENCH_PYTHON ?? '/usr/bin/python3';

/** Runs bench/python/<script> with the same thread settings and parses its JSON output. */
export function runPython<T>(script: string, args: string[], threads: number): T {
  const file = path.resolve(__dirname, '..', '..', 'bench', 'python', script);
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' };
  const r = spawnSync(PYTHON, [file, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${script} failed (is python3-torch installed? apt-get install python3-torch):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** Prints rows as a Markdown table with the Node/Python ratio. */
export function table(title: string, unit: string, rows: Row[]): string {
  const lines = [
    `### ${title}`,
    '',
    `| case | transformer-native (${unit}) | PyTorch from Python (${unit}) | Node / Python |`,
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.case} | ${r.node.toFixed(3)} | ${r.python.toFixed(3)} | ${(r.node / r.python).toFixed(2)}x |`),
    '',
  ];
  return lines.join('\n');
}

/**
 * Sleeps the thread. OpenBLAS's workers spin for a while after each call and take the second
 * core from libtorch's threads, so each measurement starts after a pause, as in a fresh process.
 */
export function pause(ms = 250): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Median wall time of `fn` in ms over `reps` runs, after `warmup` runs (and a pause unless told not to). */
export function timeMs(fn: () => void, reps: number, warmup = 1, opts: { pause?: boolean } = {}): number {
  if (opts.pause !== false) pause();
  for (let i = 0; i < warmup; i++) fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(runs);
}

/** The URL a `transformer-native serve` child process prints once it listens. */
export function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}
