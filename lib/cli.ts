#!/usr/bin/env node
/**
 * The `transformer-native` command.
 *
 *   transformer-native serve [--model DIR | --model FILE.safetensors --config config.json
 *                             --tokenizer tokenizer.json] [--host 127.0.0.1] [--port 8000]
 *                            [--max-batch 16] [--max-queue 64] [--timeout-ms 120000] [--threads N]
 *
 * `npm start` runs `serve` on the model that ships with the package (models/moby-gpt).
 * SIGTERM / SIGINT stop it gracefully: no new requests, those in flight finish.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from './serve/server';
import { resolveModelFiles } from './serve/model_dir';

const USAGE = `usage: transformer-native serve [--model DIR|FILE.safetensors] [--config FILE] [--tokenizer FILE]
                                [--host HOST] [--port PORT] [--max-batch N] [--max-queue N]
                                [--timeout-ms MS] [--threads N]`;

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'serve') {
    console.log(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const files = resolveModelFiles(values.model ?? DEFAULT_MODEL_DIR, { config: values.config, tokenizer: values.tokenizer });
  const server = await serve({
    model: files, host: values.host, port: intOption('port', values.port, 0),
    maxBatch: intOption('max-batch', values['max-batch'], 1), maxQueue: intOption('max-queue', values['max-queue'], 0),
    requestTimeoutMs: intOption('timeout-ms', values['timeout-ms'], 1), threads: intOption('threads', values.threads, 1),
  });
  const { info } = server.engine;
  console.log(`transformer-native: serving ${info.name} (${(info.parameters / 1e6).toFixed(2)}M parameters, context ${info.contextLength}) at ${server.url}`);
  console.log(`  try: curl -s ${server.url}/v1/completions -H 'content-type: application/json' -d '{"prompt": "Call me Ishmael.", "max_tokens": 64}'`);
  const stop = (signal: string): void => {
    console.log(`transformer-native: ${signal}, finishing ${server.engine.inFlight} request(s) in flight`);
    server.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`transformer-native: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
