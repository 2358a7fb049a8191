/**
 * The HTTP server: OpenAI-style completions over an {@link Engine}, on fastify.
 *
 *   POST /v1/completions   {prompt, max_tokens, temperature, top_p, top_k, stop, seed, stream}
 *   GET  /health           {status, model, inFlight, queueDepth}
 *   GET  /metrics          Prometheus text format
 *
 * Streaming answers are server-sent events in OpenAI's chunk shape, ending with `data: [DONE]`.
 * A client that disconnects cancels its generation at once (its batch slot is free for the next
 * step); a request that runs past `requestTimeoutMs` is cancelled and answered 504 (or, when
 * streaming, ended with an error event). A full queue answers 429, a closing server 503, bad
 * input 400 with a message naming the field.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Engine, EngineClosedError, QueueFullError } from './engine';
import type { CompletionResult } from './generation';
import type { ServerMetrics } from './metrics';
import type { ModelFiles } from './model_dir';
import type { FinishReason, SamplingParams } from './types';

/** Options of {@link createServer}. */
export interface ServerOptions {
  engine: Engine;
  /** Cancel a completion after this long (default 120 000 ms). */
  requestTimeoutMs?: number;
  /** Model name reported in responses (default: the engine's). */
  modelName?: string;
  /** fastify's logger (default off). */
  logger?: boolean;
}

/** The body of POST /v1/completions (OpenAI's names). */
interface CompletionBody {
  prompt: string | string[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop?: string | string[] | null;
  seed?: number;
  stream?: boolean;
  n?: number;
  model?: string;
}

const completionSchema = {
  type: 'object',
  required: ['prompt'],
  properties: {
    prompt: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: 1 }] },
    max_tokens: { type: 'integer', minimum: 1 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    top_k: { type: 'integer', minimum: 0 },
    stop: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 4 }, { type: 'null' }] },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    stream: { type: 'boolean' },
    n: { type: 'integer', minimum: 1, maximum: 1 },
    model: { type: 'string' },
  },
} as const;

/** An OpenAI-shaped error body. */
function errorBody(message: string, type: string, param: string | null = null): { error: { message: string; type: string; param: string | null; code: null } } {
  return { error: { message, type, param, code: null } };
}

/** Builds (does not start) the server; `await server.listen({host, port})` starts it. */
export function createServer(opts: ServerOptions): FastifyInstance {
  const { engine } = opts;
  const timeoutMs = opts.requestTimeoutMs ?? 120_000;
  const modelName = opts.modelName ?? engine.info.name;
  // fastify and prom-client load here, not when the package is required (~0.1 s saved).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Fastify = (require('fastify') as typeof import('fastify')).default;
  const metrics: ServerMetrics = new (require('./metrics') as typeof import('./metrics')).ServerMetrics(engine);
  /* eslint-enable @typescript-eslint/no-require-imports */
  // Validation errors list every problem; coercion off so "1" is not silently a number.
  const app = Fastify({ logger: opts.logger ?? false, ajv: { customOptions: { coerceTypes: false, allErrors: true } } });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: Array<{ instancePath?: string; params?: { missingProperty?: string } }> }, _req, reply) => {
    const status = err.validation ? 400 : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    const message = err.validation ? `invalid request: ${err.message.replace(/^body\/?/, '').replace(/, body\/?/g, ', ')}` : err.message;
    // The first offending field, as OpenAI's `param` ("temperature", "prompt", ...).
    const first = err.validation?.[0];
    const param = first ? (first.instancePath?.replace(/^\//, '').split('/')[0] || first.params?.missingProperty || null) : null;
    void reply.status(status).send(errorBody(message, status === 400 ? 'invalid_request_error' : 'server_error', param));
  });

  app.get('/health', async () => ({ status: 'ok', model: modelName, contextLength: engine.info.contextLength, inFlight: engine.inFlight, queueDepth: engine.queueDepth }));

  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionSchema } }, async (req, reply) => {
    const body = req.body;
    const prompt = Array.isArray(body.prompt) ? body.prompt[0] : body.prompt;
    const params: Partial<SamplingParams> = {
      maxTokens: body.max_tokens, temperature: body.temperature, topP: body.top_p, topK: body.top_k,
      stop: typeof body.stop === 'string' ? [body.stop] : body.stop ?? undefined, seed: body.seed,
    };
    if (params.maxTokens !== undefined && params.maxTokens >= engine.info.contextLength) {
      metrics.requests.inc({ status: '400' });
      return reply.status(400).send(errorBody(`max_tokens: expected at most ${engine.info.contextLength - 1} (the model's context), but got ${params.maxTokens}`, 'invalid_request_error', 'max_tokens'));
    }
    const abort = new AbortController();
    // The response closing before we finished it means the client went away.
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    let gen;
    try {
      gen = engine.generate(prompt, params, { signal: abort.signal });
    } catch (err) {
      const e = err as Error;
      const status = e instanceof QueueFullError ? 429 : e instanceof EngineClosedError ? 503 : e instanceof TypeError || e instanceof RangeError ? 400 : 500;
      metrics.requests.inc({ status: String(status) });
      const param = /^(\w+):/.exec(e.message)?.[1] ?? null;
      return reply.status(status).send(errorBody(e.message, status === 400 ? 'invalid_request_error' : status === 429 ? 'rate_limit_error' : 'server_error', param));
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      gen.cancel();
    }, timeoutMs);
    const id = `cmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (text: string, finish: FinishReason | null): string =>
      JSON.stringify({ id, object: 'text_completion', created, model: modelName, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
    try {
      if (body.stream) {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        for await (const text of gen) reply.raw.write(`data: ${chunk(text, null)}\n\n`);
        const r = await gen.result;
        record(metrics, r, timedOut ? 504 : 200);
        if (timedOut) reply.raw.write(`data: ${JSON.stringify(errorBody(`generation timed out after ${timeoutMs} ms`, 'timeout'))}\n\n`);
        else reply.raw.write(`data: ${chunk('', r.finishReason)}\n\n`);
        reply.raw.end('data: [DONE]\n\n');
        return reply;
      }
      const r = await gen.result;
      if (timedOut) {
        record(metrics, r, 504);
        return reply.status(504).send(errorBody(`generation timed out after ${timeoutMs} ms`, 'timeout'));
      }
      if (r.finishReason === 'error') {
        record(metrics, r, 500);
        return reply.status(500).send(errorBody('generation failed', 'server_error'));
      }
      record(metrics, r, 200);
      return {
        id, object: 'text_completion', created, model: modelName,
        choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: r.finishReason }],
        usage: { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens },
      };
    } finally {
      clearTimeout(timer);
    }
  });
  return app;
}

function record(metrics: ServerMetrics, r: CompletionResult, status: number): void {
  metrics.requests.inc({ status: r.finishReason === 'cancelled' && status === 200 ? '499' : String(status) });
  metrics.promptTokens.inc(r.usage.promptTokens);
  metrics.latency.observe(r.totalMs / 1000);
  if (!Number.isNaN(r.firstTextMs)) metrics.firstToken.observe(r.firstTextMs / 1000);
}

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The model (see EngineOptions.model). */
  model: string | ModelFiles;
  host?: string;
  port?: number;
  maxBatch?: number;
  maxQueue?: number;
  requestTimeoutMs?: number;
  threads?: number;
  logger?: boolean;
}

/** A running server: its address and a graceful stop. */
export interface RunningServer {
  url: string;
  app: FastifyInstance;
  engine: Engine;
  /** Stops accepting, finishes requests in flight, then stops the model thread. */
  close(): Promise<void>;
}

/** Starts an engine and a server on it (127.0.0.1:8000 by default; port 0 = any free port). */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const engine = await Engine.start({ model: opts.model, maxBatch: opts.maxBatch, maxQueue: opts.maxQueue, threads: opts.threads });
  const app = createServer({ engine, requestTimeoutMs: opts.requestTimeoutMs, logger: opts.logger });
  const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8000 });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const done = app.close(); // stops accepting; waits for responses in flight
      await engine.close();
      await done;
    })());
  return { url, app, engine, close };
}

