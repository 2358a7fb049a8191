#!/usr/bin/env node
/**
 * The `transformer-native` command.
 *
 *   transformer-native serve [--model DIR | --model FILE.safetensors --config config.json
 *                             --tokenizer tokenizer.json] [--host 127.0.0.1] [--port 8000]
 *                            [--max-batch 16] [--max-queue 64] [--timeout-ms 120000] [--threads N]
 *                            [--headers-timeout-ms 10000] [--request-receive-timeout-ms 20000]
 *                            [--keep-alive-timeout-ms 5000] [--idle-timeout-ms MS]
 *                            [--body-limit-bytes 1048576] [--shutdown-grace-ms 5000]
 *
 * `npm start` runs `serve` on the model that ships with the package (models/moby-gpt).
 * SIGTERM / SIGINT stop it gracefully: no new connections, idle and still-uploading ones closed
 * at once, completions in flight get --shutdown-grace-ms to finish (then are cancelled), and the
 * process exits 0 (1 if it could not stop within the grace period + 4 s). A second SIGTERM /
 * SIGINT exits at once (status 128 + the signal's number), after cancelling what runs (≤ 1 s).
 */
import { constants } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { HTTP_DEFAULTS, serve } from './serve/server';
import { resolveModelFiles } from './serve/model_dir';

const D = HTTP_DEFAULTS;
const USAGE = `usage: transformer-native serve [--model DIR|FILE.safetensors] [--config FILE] [--tokenizer FILE]
                                [--host HOST] [--port PORT] [--max-batch N] [--max-queue N]
                                [--timeout-ms MS] [--threads N]
                                [--headers-timeout-ms MS] [--request-receive-timeout-ms MS]
                                [--keep-alive-timeout-ms MS] [--idle-timeout-ms MS]
                                [--body-limit-bytes N] [--shutdown-grace-ms MS]

  --model                      model directory (model.safetensors, config.json, tokenizer.json) or .safetensors file
                               (default: the bundled models/moby-gpt)
  --host, --port               where to listen (default 127.0.0.1:8000, or $HOST / $PORT; port 0 = any free port)
  --max-batch, --max-queue     requests decoded together (16) and waiting for a slot (64; beyond: 429)
  --timeout-ms                 generation timeout: cancel a completion after this long, 504 (${D.requestTimeoutMs})
  --threads                    libtorch threads of the model thread
  --headers-timeout-ms         request headers must arrive within this (${D.headersTimeoutMs}; else 408, closed)
  --request-receive-timeout-ms the whole request, headers and body, within this (${D.requestReceiveTimeoutMs}; else 408)
  --keep-alive-timeout-ms      an idle keep-alive connection is closed after this (${D.keepAliveTimeoutMs})
  --idle-timeout-ms            a connection with no traffic during a response is closed (--timeout-ms + ${D.idleTimeoutMarginMs})
  --body-limit-bytes           largest request body (${D.bodyLimitBytes}; else 413)
  --shutdown-grace-ms          on SIGTERM/SIGINT, completions in flight get this long to finish (${D.shutdownGraceMs})`;

/** How long after the grace period a stop that has not finished is forced (exit status 1). */
const STOP_MARGIN_MS = 4000;
/** After a second signal, the longest wait for the model thread to stop before exiting anyway. */
const SECOND_SIGNAL_MS = 1000;

/** The model shipped with the package (a character-level GPT trained on Moby Dick). */
export const DEFAULT_MODEL_DIR = path.resolve(__dirname, '..', '..', 'models', 'moby-gpt');

function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name}: expected an integer ≥ ${min}, but got '${value}'`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' }, config: { type: 'string' }, tokenizer: { type: 'string' },
      host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' }, port: { type: 'string', default: process.env.PORT ?? '8000' },
      'max-batch': { type: 'string' }, 'max-queue': { type: 'string' }, 'timeout-ms': { type: 'string' }, threads: { type: 'string' },
      'headers-timeout-ms': { type: 'string' }, 'request-receive-timeout-ms': { type: 'string' }, 'keep-alive-timeout-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' }, 'body-limit-bytes': { type: 'string' }, 'shutdown-grace-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'serve') {
    console.log(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const shutdownGraceMs = intOption('shutdown-grace-ms', values['shutdown-grace-ms'], 0);
  const files = resolveModelFiles(values.model ?? DEFAULT_MODEL_DIR, { config: values.config, tokenizer: values.tokenizer });
  const server = await serve({
    model: files, host: values.host, port: intOption('port', values.port, 0),
    maxBatch: intOption('max-batch', values['max-batch'], 1), maxQueue: intOption('max-queue', values['max-queue'], 0),
    requestTimeoutMs: intOption('timeout-ms', values['timeout-ms'], 1), threads: intOption('threads', values.threads, 1),
    headersTimeoutMs: intOption('headers-timeout-ms', values['headers-timeout-ms'], 1),
    requestReceiveTimeoutMs: intOption('request-receive-timeout-ms', values['request-receive-timeout-ms'], 1),
    keepAliveTimeoutMs: intOption('keep-alive-timeout-ms', values['keep-alive-timeout-ms'], 1),
    idleTimeoutMs: intOption('idle-timeout-ms', values['idle-timeout-ms'], 1),
    bodyLimitBytes: intOption('body-limit-bytes', values['body-limit-bytes'], 1),
    shutdownGraceMs,
  });
  const { info } = server.engine;
  console.log(`transformer-native: serving ${info.name} (${(info.parameters / 1e6).toFixed(2)}M parameters, context ${info.contextLength}) at ${server.url}`);
  console.log(`  try: curl -s ${server.url}/v1/completions -H 'content-type: application/json' -d '{"prompt": "Call me Ishmael.", "max_tokens": 64}'`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`transformer-native: ${signal} while stopping, exiting now`);
      const status = 128 + constants.signals[signal];
      // Stop the model thread between two steps first (cancelling is one step): exiting while
      // it is inside a native op can abort the process. At most SECOND_SIGNAL_MS either way.
      setTimeout(() => process.exit(status), SECOND_SIGNAL_MS);
      void server.engine.close({ cancel: true }).finally(() => process.exit(status));
      return;
    }
    stopping = true;
    console.log(`transformer-native: ${signal}, finishing ${server.engine.inFlight} request(s) in flight (a second signal exits at once)`);
    const limitMs = (shutdownGraceMs ?? HTTP_DEFAULTS.shutdownGraceMs) + STOP_MARGIN_MS;
    setTimeout(() => {
      console.error(`transformer-native: could not stop within ${limitMs} ms; exiting`);
      process.exit(1);
    }, limitMs).unref();
    server.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`transformer-native: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
