/**
 * `npm run bench:slow-clients [-- --sockets N --every-ms MS]`: the server against slow clients,
 * from a separate process, on loopback, with its default limits (`transformer-native serve`,
 * the packaged model).
 *
 * 1. N sockets (default 4,000, fewer if the open-file limit does not allow) each drip one byte
 *    every 2 s: half their request headers (cut off by headersTimeoutMs), half their body after
 *    complete headers (cut off by requestReceiveTimeoutMs). Prints how many are open each second,
 *    when the last of each kind was closed (after its own connect), how many got a 408, and how
 *    long a normal completion took in the middle of it.
 * 2. SIGTERM with 1,000 slow uploads, 100 idle keep-alive connections and a streaming completion
 *    open: how soon the slow and idle ones are closed, whether the completion finishes, and when
 *    and how the process exits.
 * Bounded: every socket writes at most its request, and each phase stops at a deadline.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { HTTP_DEFAULTS } from '../lib/serve/server';
import { listeningUrl } from './util';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'lib', 'cli.js');
const HEADERS = 'POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';

const { values } = parseArgs({ options: { sockets: { type: 'string', default: '4000' }, 'every-ms': { type: 'string', default: '2000' } } });
const EVERY_MS = Number(values['every-ms']);

/** The soft limit on open files of this process (Linux), or Infinity when unknown. */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startServer(): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--threads', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await listeningUrl(child);
  child.stdout!.resume();
  return { child, url, port: Number(new URL(url).port) };
}

interface Slow {
  kind: 'headers' | 'body';
  socket: net.Socket;
  openedAt: number;
  closedAt: number;
  got408: boolean;
}

/**
 * Opens a socket that sends its request one byte every EVERY_MS (for 'body', the headers at
 * once first). The first byte goes at a random moment of the first period, so writes spread.
 */
function openSlow(port: number, kind: Slow['kind']): Promise<Slow> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const text = kind === 'headers' ? `${HEADERS}Content-Length: 30\r\n\r\n{"prompt": "Call me Ishmael."}` : `{"prompt": "${'a'.repeat(9000)}"}`;
    const s: Slow = { kind, socket, openedAt: 0, closedAt: NaN, got408: false };
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 408')) s.got408 = true;
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      s.closedAt = performance.now();
      clearTimeout(timer);
      clearInterval(timer);
    });
    socket.once('connect', () => {
      s.openedAt = performance.now();
      if (kind === 'body') socket.write(`${HEADERS}Content-Length: ${text.length}\r\n\r\n`);
      const step = (): void => {
        if (!socket.destroyed && i < text.length) socket.write(text[i++]);
      };
      timer = setTimeout(() => {
        step();
        timer = setInterval(step, EVERY_MS);
      }, Math.random() * EVERY_MS);
      socket.off('error', reject);
      resolve(s);
    });
    socket.once('error', reject);
  });
}

/** Opens `n` slow sockets of each kind, alternating, 250 at a time (the listen backlog is 511). */
async function openMany(port: number, n: number, kinds: Array<Slow['kind']>): Promise<Slow[]> {
  const out: Slow[] = [];
  for (let i = 0; i < n; i += 250) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(250, n - i) }, (_, j) => openSlow(port, kinds[(i + j) % kinds.length])))));
  }
  return out;
}

async function completion(url: string, maxTokens: number): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Call me Ishmael.', max_tokens: maxTokens }) });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t0 };
}

async function scrape(url: string, prefix: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

async function stalled(requested: number): Promise<void> {
  const limit = openFileLimit();
  const n = Math.min(requested, Math.max(0, Math.floor(limit - 200)));
  console.log(`### Slow clients (bench:slow-clients): default limits (headers ${HTTP_DEFAULTS.headersTimeoutMs / 1000} s, whole request ${HTTP_DEFAULTS.requestReceiveTimeoutMs / 1000} s, keep-alive ${HTTP_DEFAULTS.keepAliveTimeoutMs / 1000} s), loopback, clients in their own process\n`);
  console.log(`${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (n < requested) console.log(`open-file limit ${limit}: ${n} sockets instead of ${requested} (raise it with ulimit -n)`);
  const server = await startServer();
  const t0 = performance.now();
  const sockets = await openMany(server.port, n, ['headers', 'body']);
  console.log(`\n${n} sockets (${n / 2} dripping headers, ${n / 2} dripping the body after complete headers), one byte every ${EVERY_MS} ms; all open after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const open = (kind?: Slow['kind']): number => sockets.filter((s) => Number.isNaN(s.closedAt) && (!kind || s.kind === kind)).length;
  const deadline = t0 + HTTP_DEFAULTS.requestReceiveTimeoutMs + 30_000;
  const line: string[] = [];
  let during: { status: number; ms: number } | null = null;
  for (let sec = 1; open() > 0 && performance.now() < deadline; sec++) {
    if (sec === 5) void completion(server.url, 32).then((r) => (during = r));
    await sleep(t0 + sec * 1000 - performance.now());
    line.push(`${sec}s ${open('headers')}+${open('body')}`);
  }
  console.log(`Open each second (headers-drippers + body-drippers): ${line.join(', ')}\n`);
  for (const kind of ['headers', 'body'] as const) {
    const of = sockets.filter((s) => s.kind === kind);
    const life = of.filter((s) => !Number.isNaN(s.closedAt)).map((s) => (s.closedAt - s.openedAt) / 1000).sort((a, b) => a - b);
    const limitS = (kind === 'headers' ? HTTP_DEFAULTS.headersTimeoutMs : HTTP_DEFAULTS.requestReceiveTimeoutMs) / 1000;
    console.log(`- ${kind}: ${life.length}/${of.length} closed (limit ${limitS} s), lifetime min ${life[0]?.toFixed(2)} s, median ${life[Math.floor(life.length / 2)]?.toFixed(2)} s, max ${life.at(-1)?.toFixed(2)} s; ${of.filter((s) => s.got408).length} answered 408`);
  }
  const closedAll = Math.max(...sockets.map((s) => s.closedAt));
  console.log(`- last socket closed ${((closedAll - t0) / 1000).toFixed(2)} s after the first connect; a completion (32 tokens) sent at 5 s: ${during ? `${(during as { status: number }).status} in ${(during as { ms: number }).ms.toFixed(0)} ms` : 'no answer'}`);
  console.log(`- server counters: ${(await scrape(server.url, 'tn_http_connections_closed_total{')).join(', ')}`);
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
}

async function sigterm(uploads: number): Promise<void> {
  const server = await startServer();
  const slow = await openMany(server.port, uploads, ['body']);
  // Idle keep-alive connections: one complete GET each, then nothing.
  const idle: Slow[] = [];
  for (let i = 0; i < 100; i++) {
    const socket = net.connect(server.port, '127.0.0.1');
    const s: Slow = { kind: 'headers', socket, openedAt: performance.now(), closedAt: NaN, got408: false };
    socket.on('error', () => undefined);
    socket.once('close', () => (s.closedAt = performance.now()));
    await new Promise<void>((r) => {
      socket.once('data', () => r());
      socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    idle.push(s);
  }
  const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Call me Ishmael.', max_tokens: 100, stream: true }) });
  const reader = r.body!.getReader();
  await reader.read();
  const streamed = (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  })();
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((res) => server.child.once('exit', (code, signal) => res({ code, signal, at: performance.now() })));
  const t0 = performance.now();
  server.child.kill('SIGTERM');
  const kill = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  const exit = await exited;
  clearTimeout(kill);
  const text = await streamed;
  const closedIn = (ss: Slow[]): string => `${ss.filter((s) => !Number.isNaN(s.closedAt)).length}/${ss.length} closed, the last ${((Math.max(...ss.map((s) => s.closedAt)) - t0) / 1000).toFixed(2)} s after SIGTERM`;
  console.log(`\nSIGTERM with ${uploads} slow uploads, 100 idle keep-alive connections and a streaming completion (100 tokens) open:`);
  console.log(`- slow uploads: ${closedIn(slow)}; idle keep-alive: ${closedIn(idle)}`);
  console.log(`- the completion ${text.endsWith('data: [DONE]\n\n') && text.includes('"finish_reason":"length"') ? 'finished (finish_reason length, [DONE])' : 'did not finish'}`);
  console.log(`- the process exited ${((exit.at - t0) / 1000).toFixed(2)} s after SIGTERM, ${exit.signal ? `killed by ${exit.signal}` : `status ${exit.code}`}\n`);
}

async function main(): Promise<void> {
  await stalled(Number(values.sockets));
  await sigterm(Math.min(1000, Math.max(10, Math.floor(openFileLimit() / 4))));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
