/**
 * Prometheus metrics of a server: one private registry per server (several servers in one
 * process do not collide), fed by the HTTP layer and by the engine's per-step statistics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from './engine';
import type { StepStats } from './types';

/** The metrics a server exports at GET /metrics. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'tn_requests_total', help: 'Completion requests by HTTP status', labelNames: ['status'] as const, registers: [this.registry] });
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
