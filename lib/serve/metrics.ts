/**
 * Prometheus metrics of a server: one private registry per server (several servers in one
 * process do not collide), fed by the HTTP layer and by the engine's per-step statistics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from './engine';
import type { StepStats } from './types';

/**
 * Why the server closed a connection: its headers or its whole request did not arrive in time
 * (`headersTimeoutMs`, `requestReceiveTimeoutMs`; answered 408), no traffic for `idleTimeoutMs`
 * during a response, an idle keep-alive connection past `keepAliveTimeoutMs`, or shutdown.
 */
export type ConnectionCloseReason = 'headers_timeout' | 'request_timeout' | 'idle_timeout' | 'keep_alive_timeout' | 'shutdown';

/** The metrics a server exports at GET /metrics. */
export class ServerMetrics {
  readonly registry = new Registry();
  /**
   * POST /v1/completions requests by HTTP status, every outcome included (validation 400s, 413,
   * 415, 429, 503, 504; 499 when the client closed the connection first). Counted once per
   * response where Node reports it closed, not by the route.
   */
  readonly requests = new Counter({ name: 'tn_requests_total', help: 'Completion requests (POST /v1/completions) by HTTP status; 499 = the client closed the connection first', labelNames: ['status'] as const, registers: [this.registry] });
  /**
   * Every HTTP response by route pattern and status: fastify's own 400 / 404 / 413 / 415 and
   * the 400 / 408 / 431 written for a request that could not be read. `route` is the matched
   * pattern, "unmatched" when none matched, "none" when the request never got that far.
   */
  readonly responses = new Counter({ name: 'tn_http_responses_total', help: 'HTTP responses by route and status (route "unmatched": no route; "none": the request could not be read; status 499: the client closed the connection first)', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  /** Connections the server closed itself, by reason (see {@link ConnectionCloseReason}). */
  readonly connectionsClosed = new Counter({ name: 'tn_http_connections_closed_total', help: 'Connections closed by the server: headers_timeout, request_timeout (body too slow), idle_timeout, keep_alive_timeout, shutdown', labelNames: ['reason'] as const, registers: [this.registry] });
  /** TCP connections open now. */
  readonly openConnections = new Gauge({ name: 'tn_http_open_connections', help: 'HTTP connections open', registers: [this.registry] });
  readonly promptTokens = new Counter({ name: 'tn_prompt_tokens_total', help: 'Prompt tokens processed', registers: [this.registry] });
  readonly generatedTokens = new Counter({ name: 'tn_generated_tokens_total', help: 'Tokens generated', registers: [this.registry] });
  private window: Array<[number, number]> = [];
  readonly tokensPerSecond: Gauge = new Gauge({
    name: 'tn_generated_tokens_per_second', help: 'Tokens generated per second over the last 10 s', registers: [this.registry],
    collect: (): void => this.tokensPerSecond.set(this.recentTokens() / 10),
  });
  readonly batchSize = new Histogram({ name: 'tn_batch_size', help: 'Rows per decode step', buckets: [1, 2, 4, 8, 16, 32, 64], registers: [this.registry] });
  readonly stepSeconds = new Histogram({ name: 'tn_step_seconds', help: 'Wall time of one scheduler step', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'tn_queue_depth', help: 'Requests waiting for a batch slot', registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'tn_requests_in_flight', help: 'Requests running or waiting', registers: [this.registry] });
  readonly latency = new Histogram({ name: 'tn_request_duration_seconds', help: 'Completion latency, submission to last token', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly firstToken = new Histogram({ name: 'tn_time_to_first_token_seconds', help: 'Submission to first text', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });

  constructor(engine: Engine) {
    // RSS, heap, event-loop delay (sampled every 1 ms: the 10 ms default cannot see delays below it).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1 });
    engine.on('step', (s) => this.onStep(s, engine));
  }

  private onStep(s: StepStats, engine: Engine): void {
    if (s.batchSize > 0) this.batchSize.observe(s.batchSize);
    this.stepSeconds.observe(s.ms / 1000);
    this.generatedTokens.inc(s.tokens);
    this.queueDepth.set(s.queueDepth);
    this.inFlight.set(engine.inFlight);
    this.window.push([Date.now(), s.tokens]);
    this.recentTokens(); // prunes, so the window stays bounded without scrapes
  }

  /** Tokens generated in the last 10 s (older entries dropped). */
  private recentTokens(): number {
    const since = Date.now() - 10_000;
    while (this.window.length > 0 && this.window[0][0] < since) this.window.shift();
    return this.window.reduce((a, [, n]) => a + n, 0);
  }
}
