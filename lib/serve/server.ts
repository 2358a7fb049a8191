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
 *
 * Slow and stalled clients are cut off by Node's own HTTP timeouts, set from {@link HttpLimits}:
 * the headers must arrive within `headersTimeoutMs`, the whole request within
 * `requestReceiveTimeoutMs` (else 408 and the connection is closed), an idle keep-alive
 * connection is closed after `keepAliveTimeoutMs`, one with no traffic at all during a response
 * after `idleTimeoutMs`. Closing the app (`app.close()`) stops accepting, closes idle and
 * still-receiving connections at once, gives completions in flight `shutdownGraceMs` to finish,
 * cancels the rest (answered 503, or a stream ended with an error event) and then closes every
 * connection left, so it resolves within about `shutdownGraceMs` + 3 s whatever clients do.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Connections } from './connections';
import { Engine, EngineClosedError, QueueFullError } from './engine';
import type { CompletionResult, Generation } from './generation';
import type { ServerMetrics } from './metrics';
import type { ModelFiles } from './model_dir';
import type { FinishReason, SamplingParams } from './types';

/**
 * How long clients may take to send a request and hold a connection, how large a body may be,
 * and how long shutdown waits. Names follow Node's `http.Server` settings they map to. Every
 * value is in milliseconds (bytes for the body) and must be a positive integer.
 */
export interface HttpLimits {
  /**
   * The request line and headers must arrive within this long (Node's `server.headersTimeout`),
   * else 408 and the connection is closed. Node counts it from the request's first byte (from
   * the connection's opening while nothing was sent). Default 10 000 (10 s).
   */
  headersTimeoutMs?: number;
  /**
   * The whole request, headers and body, must arrive within this long of its first byte (Node's
   * `server.requestTimeout`, fastify's `requestTimeout`), else 408 and the connection is closed.
   * Not a limit on generation time (that is `requestTimeoutMs`). At least `headersTimeoutMs`.
   * A client that waits almost `headersTimeoutMs` before its first byte can so hold a connection
   * for up to `headersTimeoutMs` + this. Default 20 000 (20 s).
   */
  requestReceiveTimeoutMs?: number;
  /**
   * An idle keep-alive connection is closed after this long (Node's `server.keepAliveTimeout`;
   * recent Node versions keep the socket up to 1 s longer than they advertise). Default 5 000 (5 s).
   */
  keepAliveTimeoutMs?: number;
  /**
   * A connection with a response in progress but no traffic either way for this long is closed
   * (Node's `server.timeout`, fastify's `connectionTimeout`): a client that stopped reading. Must
   * exceed `requestTimeoutMs`, as a completion that is not streamed sends nothing until it ends.
   * Default `requestTimeoutMs` + 10 000.
   */
  idleTimeoutMs?: number;
  /** Largest request body accepted, in bytes (fastify's `bodyLimit`); larger ones get 413. Default 1 MiB. */
  bodyLimitBytes?: number;
  /**
   * On close, completions in flight get this long to finish before they are cancelled.
   * Default 5 000 (5 s).
   */
  shutdownGraceMs?: number;
}

/** The defaults of {@link HttpLimits} (and of the generation timeout, `requestTimeoutMs`). */
export const HTTP_DEFAULTS = Object.freeze({
  headersTimeoutMs: 10_000,
  requestReceiveTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  bodyLimitBytes: 1 << 20,
  shutdownGraceMs: 5_000,
  requestTimeoutMs: 120_000,
  /** idleTimeoutMs defaults to requestTimeoutMs plus this. */
  idleTimeoutMarginMs: 10_000,
});

/** After cancelling completions at shutdown, how long their answers get to be written. */
const SHUTDOWN_FLUSH_MS = 1000;

/** Options of {@link createServer}. */
export interface ServerOptions extends HttpLimits {
  engine: Engine;
  /**
   * Generation timeout: cancel a completion this long after it was submitted and answer 504
   * (default 120 000 ms). Not a limit on receiving the request (that is `requestReceiveTimeoutMs`).
   */
  requestTimeoutMs?: number;
  /** Model name reported in responses (default: the engine's). */
  modelName?: string;
  /** fastify's logger (default off). */
  logger?: boolean;
}

/** The limits with defaults filled in and checked. */
type ResolvedLimits = Required<HttpLimits> & { requestTimeoutMs: number };

function resolveLimits(opts: HttpLimits & { requestTimeoutMs?: number }): ResolvedLimits {
  const get = (name: keyof HttpLimits | 'requestTimeoutMs', fallback: number): number => {
    const v = opts[name] ?? fallback;
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`createServer: expected ${name} a positive integer${name === 'bodyLimitBytes' ? ' (bytes)' : ' (milliseconds)'}, but got ${String(v)}`);
    return v;
  };
  const requestTimeoutMs = get('requestTimeoutMs', HTTP_DEFAULTS.requestTimeoutMs);
  const r: ResolvedLimits = {
    headersTimeoutMs: get('headersTimeoutMs', HTTP_DEFAULTS.headersTimeoutMs),
    requestReceiveTimeoutMs: get('requestReceiveTimeoutMs', HTTP_DEFAULTS.requestReceiveTimeoutMs),
    keepAliveTimeoutMs: get('keepAliveTimeoutMs', HTTP_DEFAULTS.keepAliveTimeoutMs),
    idleTimeoutMs: get('idleTimeoutMs', requestTimeoutMs + HTTP_DEFAULTS.idleTimeoutMarginMs),
    bodyLimitBytes: get('bodyLimitBytes', HTTP_DEFAULTS.bodyLimitBytes),
    shutdownGraceMs: opts.shutdownGraceMs === 0 ? 0 : get('shutdownGraceMs', HTTP_DEFAULTS.shutdownGraceMs),
    requestTimeoutMs,
  };
  if (r.headersTimeoutMs > r.requestReceiveTimeoutMs) {
    throw new RangeError(`createServer: expected headersTimeoutMs (${r.headersTimeoutMs}) at most requestReceiveTimeoutMs (${r.requestReceiveTimeoutMs}): the headers are part of the request`);
  }
  if (r.idleTimeoutMs <= r.requestTimeoutMs) {
    throw new RangeError(`createServer: expected idleTimeoutMs (${r.idleTimeoutMs}) greater than requestTimeoutMs (${r.requestTimeoutMs}): a completion that is not streamed sends nothing until it ends, and would be cut off`);
  }
  return r;
}

/**
 * How often Node checks the headers / request timeouts (its default, 30 s, would let a stalled
 * client stay up to 30 s past them): a tenth of the shorter one, between 25 ms and 1 s.
 */
function checkingIntervalMs(l: ResolvedLimits): number {
  return Math.min(1000, Math.max(25, Math.floor(Math.min(l.headersTimeoutMs, l.requestReceiveTimeoutMs) / 10)));
}

/** Resolves after `ms` (a timer that does not keep the process alive), or when `p` settles. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    void p.then(() => {
      clearTimeout(t);
      resolve();
    }, () => {
      clearTimeout(t);
      resolve();
    });
  });
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

/**
 * Builds (does not start) the server; `await server.listen({host, port})` starts it, and
 * `await server.close()` shuts it down as described in the module documentation (the engine
 * stays open: it is the caller's). Throws RangeError for limits out of range.
 */
export function createServer(opts: ServerOptions): FastifyInstance {
  const { engine } = opts;
  const limits = resolveLimits(opts);
  const timeoutMs = limits.requestTimeoutMs;
  const modelName = opts.modelName ?? engine.info.name;
  // fastify and prom-client load here, not when the package is required (~0.1 s saved).
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Fastify = (require('fastify') as typeof import('fastify')).default;
  const metrics: ServerMetrics = new (require('./metrics') as typeof import('./metrics')).ServerMetrics(engine);
  /* eslint-enable @typescript-eslint/no-require-imports */
  let conns: Connections; // assigned right below: it needs the app's server, the app needs its handler
  const app = Fastify({
    logger: opts.logger ?? false,
    // Validation errors list every problem; coercion off so "1" is not silently a number.
    ajv: { customOptions: { coerceTypes: false, allErrors: true } },
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestReceiveTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: checkingIntervalMs(limits) },
    clientErrorHandler: (err, socket) => conns.onClientError(err, socket),
  });
  conns = new Connections(app.server, metrics);
  app.addHook('onRequest', (req, reply, done) => {
    conns.setRoute(reply.raw, req.routeOptions.url);
    done();
  });

  // Shutdown (app.close()): fastify then stops accepting and answers 503 to new requests on open
  // connections; here, the connections not awaiting an answer are closed at once, completions in
  // flight get the grace period, then are cancelled, then whatever is left is closed.
  const live = new Set<Generation>();
  const cancelledByShutdown = new WeakSet<Generation>();
  const serverClosed = new Promise<void>((r) => app.server.once('close', () => r()));
  app.addHook('preClose', (done) => {
    conns.beginShutdown();
    void (async () => {
      const settled = (): Promise<unknown> => Promise.allSettled([...live].map((g) => g.result));
      await within(settled(), limits.shutdownGraceMs);
      for (const g of live) {
        cancelledByShutdown.add(g);
        g.cancel();
      }
      await within(settled(), Engine.CANCEL_WAIT_MS);
      await within(serverClosed, SHUTDOWN_FLUSH_MS);
      conns.closeAll();
    })();
    done();
  });

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
      return reply.status(400).send(errorBody(`max_tokens: expected at most ${engine.info.contextLength - 1} (the model's context), but got ${params.maxTokens}`, 'invalid_request_error', 'max_tokens'));
    }
    const abort = new AbortController();
    // The response closing before we finished it means the client went away.
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    let gen: Generation;
    try {
      if (conns.closing) throw new EngineClosedError();
      gen = engine.generate(prompt, params, { signal: abort.signal });
    } catch (err) {
      const e = err as Error;
      const status = e instanceof QueueFullError ? 429 : e instanceof EngineClosedError ? 503 : e instanceof TypeError || e instanceof RangeError ? 400 : 500;
      const param = /^(\w+):/.exec(e.message)?.[1] ?? null;
      return reply.status(status).send(errorBody(e.message, status === 400 ? 'invalid_request_error' : status === 429 ? 'rate_limit_error' : 'server_error', param));
    }
    live.add(gen);
    void gen.result.finally(() => live.delete(gen)).catch(() => undefined);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      gen.cancel();
    }, timeoutMs);
    const id = `cmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (text: string, finish: FinishReason | null): string =>
      JSON.stringify({ id, object: 'text_completion', created, model: modelName, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] });
    const timeoutMessage = `generation timed out after ${timeoutMs} ms`;
    const shutdownMessage = (r: CompletionResult): string => `the server is shutting down; the completion was cancelled after ${r.usage.completionTokens} tokens`;
    try {
      if (body.stream) {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        let r: CompletionResult;
        try {
          for await (const text of gen) res.write(`data: ${chunk(text, null)}\n\n`);
          r = await gen.result;
        } catch (err) {
          // The engine failed (its thread died): end the stream with an error instead of leaving it open.
          conns.setOutcome(res, 500);
          res.end(`data: ${JSON.stringify(errorBody(`generation failed: ${(err as Error).message}`, 'server_error'))}\n\ndata: [DONE]\n\n`);
          return reply;
        }
        record(metrics, r);
        if (timedOut) {
          conns.setOutcome(res, 504);
          res.write(`data: ${JSON.stringify(errorBody(timeoutMessage, 'timeout'))}\n\n`);
        } else if (cancelledByShutdown.has(gen) && r.finishReason === 'cancelled') {
          conns.setOutcome(res, 503);
          res.write(`data: ${JSON.stringify(errorBody(shutdownMessage(r), 'server_error'))}\n\n`);
        } else res.write(`data: ${chunk('', r.finishReason)}\n\n`);
        res.end('data: [DONE]\n\n');
        return reply;
      }
      const r = await gen.result;
      record(metrics, r);
      if (timedOut) return reply.status(504).send(errorBody(timeoutMessage, 'timeout'));
      if (cancelledByShutdown.has(gen) && r.finishReason === 'cancelled') return reply.status(503).send(errorBody(shutdownMessage(r), 'server_error'));
      if (r.finishReason === 'error') return reply.status(500).send(errorBody('generation failed', 'server_error'));
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

/** Token and latency metrics of a finished completion (its status is counted by Connections). */
function record(metrics: ServerMetrics, r: CompletionResult): void {
  metrics.promptTokens.inc(r.usage.promptTokens);
  metrics.latency.observe(r.totalMs / 1000);
  if (!Number.isNaN(r.firstTextMs)) metrics.firstToken.observe(r.firstTextMs / 1000);
}

/** Options of {@link serve}: the engine's, the server's limits, and where to listen. */
export interface ServeOptions extends HttpLimits {
  /** The model (see EngineOptions.model). */
  model: string | ModelFiles;
  /** Interface to listen on (default 127.0.0.1: loopback only). */
  host?: string;
  /** Port (default 8000; 0 = any free port, see {@link RunningServer.url}). */
  port?: number;
  /** See EngineOptions.maxBatch. */
  maxBatch?: number;
  /** See EngineOptions.maxQueue. */
  maxQueue?: number;
  /** Generation timeout (see ServerOptions.requestTimeoutMs). */
  requestTimeoutMs?: number;
  /** See EngineOptions.threads. */
  threads?: number;
  /** fastify's logger (default off). */
  logger?: boolean;
}

/** A running server: its address and a graceful stop. */
export interface RunningServer {
  /** Where it listens, e.g. http://127.0.0.1:8000. */
  url: string;
  app: FastifyInstance;
  engine: Engine;
  /**
   * Stops accepting, closes idle and still-receiving connections at once, lets completions in
   * flight finish for up to `shutdownGraceMs` (then cancels them), closes the connections
   * left, and stops the model thread. Resolves within about `shutdownGraceMs` + 3 s; leaves
   * nothing that keeps the process alive. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** Starts an engine and a server on it (127.0.0.1:8000 by default; port 0 = any free port). */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  resolveLimits(opts); // bad limits fail before the model is loaded
  const engine = await Engine.start({ model: opts.model, maxBatch: opts.maxBatch, maxQueue: opts.maxQueue, threads: opts.threads });
  let app: FastifyInstance;
  let url: string;
  try {
    app = createServer({
      engine, requestTimeoutMs: opts.requestTimeoutMs, logger: opts.logger,
      headersTimeoutMs: opts.headersTimeoutMs, requestReceiveTimeoutMs: opts.requestReceiveTimeoutMs, keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs, bodyLimitBytes: opts.bodyLimitBytes, shutdownGraceMs: opts.shutdownGraceMs,
    });
    url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8000 });
  } catch (err) {
    await engine.close({ cancel: true });
    throw err;
  }
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close(); // bounded: see createServer
      await engine.close({ cancel: true }); // its completions have ended by now
    })());
  return { url, app, engine, close };
}
