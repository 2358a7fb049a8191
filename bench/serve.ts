/**
 * `npm run bench:serve`: the inference server under load, from a separate process, on loopback.
 *
 * Starts the server (`transformer-native serve`, the packaged model) twice — continuous batching
 * (--max-batch 32) and one request at a time (--max-batch 1) — and drives each with autocannon
 * (its own process) at 1, 8 and 32 concurrent clients, a bounded number of requests each.
 * Generated tokens/s and event-loop delay come from the server's own /metrics (counter deltas;
 * prom-client resets the event-loop histogram at each scrape, so the p99 covers exactly the load);
 * requests/s, latency percentiles and failures from autocannon. Then a soak: 10,000 requests at
 * 32 clients against the batching server, RSS before and after. Prints Markdown for bench/RESULTS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { listeningUrl } from './util';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'lib', 'cli.js');
const AUTOCANNON = path.join(ROOT, 'node_modules', '.bin', 'autocannon');
const THREADS = Number(process.env.TN_BENCH_THREADS ?? 1);
const MAX_TOKENS = 32;

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(maxBatch: number): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--max-batch', String(maxBatch), '--max-queue', '256', '--threads', String(THREADS)], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await listeningUrl(child);
  return { url, child };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** Parses the Prometheus text of /metrics into name{labels} → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

interface LoadResult {
  requests: number;
  seconds: number;
  failed: number;
  p50: number;
  p99: number;
  tokens: number;
  loopP99: number;
  rssMiB: number;
}

/** Runs autocannon (a separate process) with `amount` requests over `connections` clients. */
async function load(url: string, connections: number, amount: number, maxTokens: number): Promise<LoadResult> {
  const before = await scrape(url);
  const body = JSON.stringify({ prompt: 'It was the best of times, ', max_tokens: maxTokens, temperature: 0.8, top_k: 40 });
  const r = spawnSync(AUTOCANNON, ['-j', '-c', String(connections), '-a', String(amount), '-t', '120', '-m', 'POST', '-H', 'content-type=application/json', '-b', body, `${url}/v1/completions`], {
    encoding: 'utf8', maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`autocannon failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { duration: number; requests: { total: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number };
  const after = await scrape(url);
  return {
    requests: res.requests.total, seconds: res.duration, failed: res.errors + res.timeouts + res.non2xx,
    p50: res.latency.p50, p99: res.latency.p99,
    tokens: (after.get('tn_generated_tokens_total') ?? 0) - (before.get('tn_generated_tokens_total') ?? 0),
    loopP99: (after.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    rssMiB: (after.get('process_resident_memory_bytes') ?? NaN) / 2 ** 20,
  };
}

async function main(): Promise<void> {
  console.log(`### Serving (bench:serve): packaged model, max_tokens ${MAX_TOKENS}, ${THREADS} libtorch thread(s), loopback, autocannon in its own process\n`);
  console.log('| server | clients | requests | req/s | tokens/s | p50 ms | p99 ms | event-loop p99 ms | failed |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const tokensPerSec: Record<string, number> = {};
  for (const [mode, maxBatch] of [['continuous batching (32)', 32], ['one at a time', 1]] as const) {
    const server = await startServer(maxBatch);
    await load(server.url, 4, 16, 8); // warm-up
    for (const clients of [1, 8, 32]) {
      const amount = Math.max(16, clients * (maxBatch === 1 ? 2 : 6));
      const r = await load(server.url, clients, amount, MAX_TOKENS);
      tokensPerSec[`${mode}/${clients}`] = r.tokens / r.seconds;
      console.log(`| ${mode} | ${clients} | ${r.requests} | ${(r.requests / r.seconds).toFixed(1)} | ${(r.tokens / r.seconds).toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.loopP99.toFixed(1)} | ${r.failed} |`);
    }
    await stopServer(server);
  }
  const ratio = (c: number): string => (tokensPerSec[`continuous batching (32)/${c}`] / tokensPerSec[`one at a time/${c}`]).toFixed(2);
  console.log(`\nContinuous batching / one at a time, tokens/s: 1 client ${ratio(1)}x, 8 clients ${ratio(8)}x, 32 clients ${ratio(32)}x\n`);

  // Soak: 10,000 requests in rounds of 2,000 after a 2,000-request warm-up, RSS after each round
  // (growth that keeps shrinking is the allocator settling; a leak grows every round alike).
  const soakRequests = Number(process.env.TN_BENCH_SOAK ?? 10_000);
  const server = await startServer(32);
  await load(server.url, 32, 2000, 4);
  const rss0 = (await scrape(server.url)).get('process_resident_memory_bytes')! / 2 ** 20;
  const rounds: LoadResult[] = [];
  for (let done = 0; done < soakRequests; done += 2000) rounds.push(await load(server.url, 32, Math.min(2000, soakRequests - done), 4));
  const total = rounds.reduce((a, r) => a + r.requests, 0);
  const failed = rounds.reduce((a, r) => a + r.failed, 0);
  const secs = rounds.reduce((a, r) => a + r.seconds, 0);
  const last = rounds[rounds.length - 1];
  console.log(`Soak: ${total} requests (max_tokens 4, 32 clients) in ${secs.toFixed(0)} s, ${failed} failed; RSS ${rss0.toFixed(0)} MiB after warm-up, then after each 2,000: ${rounds.map((r) => r.rssMiB.toFixed(0)).join(', ')} MiB (${(last.rssMiB - rss0).toFixed(1)} MiB overall); event-loop p99 ${Math.max(...rounds.map((r) => r.loopP99)).toFixed(1)} ms\n`);
  await stopServer(server);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
