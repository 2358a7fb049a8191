/**
 * The inference server and its engine, end to end: a small GPT with random weights and a
 * character tokenizer are saved to a temporary model directory, then
 * - BatchScheduler (in process): batched continuous decoding gives the same tokens as each
 *   request alone, and greedy equals the model's own generate();
 * - the HTTP server (model on a worker thread): completions with and without streaming,
 *   batched ≡ sequential over HTTP, 429 when the queue is full, a disconnecting client frees
 *   its slot, 400s naming the bad field, 504 on timeout, /health and /metrics;
 * - the CLI: SIGTERM lets a request in flight finish, then the process exits 0.
 * The Engine's worker runs the compiled dist/ (built here when older than lib/).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as tn from '../lib';
import { BatchScheduler } from '../lib/serve/scheduler';
import { loadModel, resolveModelFiles } from '../lib/serve/model_dir';
import { serve } from '../lib/serve/server';
import type { RunningServer } from '../lib/serve/server';
import type { GenerationEvent, GenerationRequest } from '../lib/serve/types';
import { CLI, cliUrl, ensureDist, makeModelDir } from './serve_fixture';

jest.setTimeout(120_000);

let modelDir: string;
beforeAll(() => {
  ensureDist();
  modelDir = makeModelDir();
});
afterAll(() => fs.rmSync(modelDir, { recursive: true, force: true }));

describe('BatchScheduler (in process)', () => {
  const prompts = ['Call me', 'Some years ago, never', 'I', 'having little or no money in', 'precisely, ', 'money'];

  function runAll(maxBatch: number, params: Partial<GenerationRequest>): string[] {
    const { model, tokenizer, info } = loadModel(resolveModelFiles(modelDir));
    const s = new BatchScheduler<tn.models.GPTCache>(model, tokenizer, { maxBatch, maxLength: info.contextLength });
    const texts = prompts.map(() => '');
    const ends: GenerationEvent[] = [];
    prompts.forEach((p, id) => s.submit({ id, promptIds: tokenizer.encode(p), maxTokens: 12 + 5 * id, temperature: 0, topK: 0, topP: 1, stop: [], seed: 100 + id, ...params }));
    let steps = 0;
    while (!s.idle) {
      for (const e of s.step().events) {
        if (e.kind === 'text') texts[e.id] += e.text;
        if (e.kind === 'end') ends.push(e);
      }
      expect(++steps).toBeLessThan(500);
    }
    s.dispose();
    model.dispose();
    expect(ends.map((e) => (e.kind === 'end' ? e.finishReason : e.kind))).toEqual(prompts.map(() => 'length'));
    return texts;
  }

  it('continuous batching (rows at different lengths, requests joining and leaving) equals one at a time, greedy', () => {
    const alone = runAll(1, {});
    const batched = runAll(4, {});
    expect(batched).toEqual(alone);
    // Independent check: the model's own cached greedy generation.
    const { model, tokenizer } = loadModel(resolveModelFiles(modelDir));
    const gpt = model;
    prompts.forEach((p, i) => {
      const ids = gpt.generateSync(tokenizer.encode(p), { maxNewTokens: 12 + 5 * i, temperature: 0 });
      expect(tokenizer.decode(ids)).toBe(alone[i]);
    });
    gpt.dispose();
  });

  it('sampled requests do not depend on their batch mates (per-request seeds)', () => {
    const p = { temperature: 0.9, topK: 8, topP: 0.95 };
    const alone = runAll(1, p);
    expect(runAll(3, p)).toEqual(alone);
    expect(alone.join('')).not.toEqual(runAll(1, {}).join(''));
  });

  it('keeps memory flat over many requests', () => {
    const { model, tokenizer, info } = loadModel(resolveModelFiles(modelDir));
    const s = new BatchScheduler<tn.models.GPTCache>(model, tokenizer, { maxBatch: 4, maxLength: info.contextLength });
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) s.submit({ id: i, promptIds: tokenizer.encode('Call me'), maxTokens: 6, temperature: 1, topK: 0, topP: 1, stop: [], seed: i });
      while (!s.idle) s.step();
    };
    run(8);
    const before = tn.memory().liveTensors;
    run(40);
    expect(tn.memory().liveTensors).toBeLessThanOrEqual(before); // <=: the addon's sweeps may also free garbage earlier tests left
    s.dispose();
    model.dispose();
  });
});

describe('HTTP server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ model: modelDir, port: 0, maxBatch: 4, maxQueue: 2, requestTimeoutMs: 20_000 });
  });
  afterAll(async () => server?.close());

  const post = (body: unknown, signal?: AbortSignal): Promise<Response> =>
    fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });

  async function complete(body: Record<string, unknown>): Promise<{ text: string; finish: string; usage: Record<string, number> }> {
    const r = await post(body);
    expect(r.status).toBe(200);
    const j = (await r.json()) as { object: string; choices: Array<{ text: string; finish_reason: string }>; usage: Record<string, number> };
    expect(j.object).toBe('text_completion');
    return { text: j.choices[0].text, finish: j.choices[0].finish_reason, usage: j.usage };
  }

  /** Reads an SSE stream into its data payloads. */
  async function stream(body: Record<string, unknown>): Promise<string[]> {
    const r = await post({ ...body, stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const text = await r.text();
    return text.split('\n\n').filter((s) => s.startsWith('data: ')).map((s) => s.slice(6));
  }

  it('completes in the OpenAI shape, with usage', async () => {
    const r = await complete({ prompt: 'Call me', max_tokens: 20, temperature: 0 });
    expect(r.finish).toBe('length');
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.usage).toEqual({ prompt_tokens: 7, completion_tokens: 20, total_tokens: 27 });
  });

  it('streams server-sent events whose text adds up to the unstreamed completion', async () => {
    const body = { prompt: 'Some years', max_tokens: 25, temperature: 0.8, seed: 5 };
    const whole = await complete(body);
    const events = await stream(body);
    expect(events[events.length - 1]).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ text: string; finish_reason: string | null }> });
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(whole.text);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('length');
  });

  it('stop strings end the completion before them', async () => {
    const free = await complete({ prompt: 'Call me', max_tokens: 40, temperature: 0 });
    const stop = free.text.slice(5, 7);
    const r = await complete({ prompt: 'Call me', max_tokens: 40, temperature: 0, stop: [stop] });
    expect(r.finish).toBe('stop');
    expect(r.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
  });

  it('concurrent requests (batched) give the same text as the same requests one after another', async () => {
    const bodies = [0, 1, 2, 3, 4].map((i) => ({ prompt: ['Call', 'Some years ago', 'I', 'money in my', 'never mind'][i], max_tokens: 10 + 4 * i, temperature: i % 2 ? 0.9 : 0, seed: i }));
    const sequential: string[] = [];
    for (const b of bodies) sequential.push((await complete(b)).text);
    const concurrent = await Promise.all(bodies.map((b) => complete(b)));
    expect(concurrent.map((c) => c.text)).toEqual(sequential);
  });

  it('answers 400 with the field named for bad input', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"prompt": ', /JSON|json/],
      [{ max_tokens: 5 }, /prompt/],
      [{ prompt: 'a', temperature: -1 }, /temperature/],
      [{ prompt: 'a', top_p: 0 }, /top_p/],
      [{ prompt: 'a', max_tokens: 'ten' }, /max_tokens/],
      [{ prompt: 'a', max_tokens: 1000 }, /max_tokens: expected at most 95/],
      [{ prompt: 'a', stop: ['a', 'b', 'c', 'd', 'e'] }, /stop/],
      [{ prompt: 'a'.repeat(200) }, /prompt: expected fewer than 96 tokens/],
      [{ prompt: 'a', n: 2 }, /n/],
      [{ prompt: 'Call me 🐋' }, /expected characters of the vocabulary, but got "🐋"/],
    ];
    for (const [body, message] of cases) {
      const r = await post(body);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { error: { message: string; type: string; param: string | null } };
      expect(j.error.type).toBe('invalid_request_error');
      expect(j.error.message).toMatch(message);
    }
    const t = (await (await post({ prompt: 'a', temperature: 7 })).json()) as { error: { param: string } };
    expect(t.error.param).toBe('temperature');
    const p = (await (await post({ max_tokens: 3 })).json()) as { error: { param: string } };
    expect(p.error.param).toBe('prompt');
  });

  it('answers 429 when every slot is busy and the queue is full', async () => {
    // 4 slots + 2 waiting: of 10 simultaneous long requests, 4 are refused at once.
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => post({ prompt: 'Call me', max_tokens: 80, seed: i })));
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 429).length).toBe(4);
    expect(statuses.filter((s) => s === 200).length).toBe(6);
    const refused = rs.find((r) => r.status === 429)!;
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('rate_limit_error');
    await Promise.all(rs.filter((r) => r !== refused).map((r) => r.arrayBuffer()));
  });

  it('a client that disconnects frees its slot at once', async () => {
    const abort = new AbortController();
    const r = await post({ prompt: 'Call me', max_tokens: 90, stream: true }, abort.signal);
    const reader = r.body!.getReader();
    await reader.read(); // first chunk: it is running
    abort.abort();
    await reader.read().catch(() => undefined);
    const t0 = Date.now();
    while (server.engine.inFlight > 0) {
      expect(Date.now() - t0).toBeLessThan(2000);
      await new Promise((res) => setTimeout(res, 5));
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/tn_requests_total\{status="499"\} [1-9]/);
  });

  it('serves /health and Prometheus /metrics', async () => {
    const h = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    expect(h).toMatchObject({ status: 'ok', model: 'test-gpt', contextLength: 96 });
    const m = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['tn_requests_total', 'tn_generated_tokens_total', 'tn_batch_size_bucket', 'tn_queue_depth', 'tn_request_duration_seconds_bucket', 'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes']) {
      expect(m).toContain(name);
    }
    expect(m).toMatch(/tn_batch_size_bucket\{le="4"\} [1-9]/);
  });
});

describe('timeouts and shutdown', () => {
  it('a request past the timeout is cancelled and answered 504', async () => {
    const s = await serve({ model: modelDir, port: 0, maxBatch: 1, requestTimeoutMs: 1 });
    try {
      const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Call me', max_tokens: 90 }) });
      expect(r.status).toBe(504);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/timed out after 1 ms/);
      expect(s.engine.inFlight).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('the CLI finishes requests in flight on SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--model', modelDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await cliUrl(child);
    const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Call me', max_tokens: 90, temperature: 0, stream: true }) });
    const reader = r.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value); // it is running
    const exit = new Promise<number | null>((res) => child.once('exit', res));
    child.kill('SIGTERM');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const chunks = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as { choices: Array<{ text: string; finish_reason: string | null }> });
    expect(chunks.map((c) => c.choices[0].text).join('').length).toBe(90); // one character per token
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('length');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(await exit).toBe(0);
  });
});
