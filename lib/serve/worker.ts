/**
 * The Engine's model thread: loads the model, then runs BatchScheduler steps back to back
 * while there is work, yielding to its own event loop between steps (setImmediate) so that new
 * requests and cancellations are taken in between — that is where requests join and leave.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setNumThreads } from '../config';
import { loadModel } from './model_dir';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol';
import { BatchScheduler } from './scheduler';
import type { GPTCache } from '../models/gpt_cache';

function post(msg: FromWorker): void {
  parentPort!.postMessage(msg);
}

function main(): void {
  const config = workerData as WorkerConfig;
  if (config.threads !== undefined) setNumThreads(config.threads);
  const loaded = loadModel(config.files);
  const scheduler = new BatchScheduler<GPTCache>(loaded.model, loaded.tokenizer, {
    maxBatch: config.maxBatch, maxLength: loaded.info.contextLength, eosTokenId: loaded.eosTokenId,
  });
  let scheduled = false;
  const loop = (): void => {
    scheduled = false;
    const { events, stats } = scheduler.step();
    if (events.length > 0 || stats.tokens > 0) post({ type: 'step', events, stats });
    if (!scheduler.idle) schedule();
  };
  const schedule = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(loop);
    }
  };
  parentPort!.on('message', (msg: ToWorker) => {
    if (msg.type === 'submit') scheduler.submit(msg.req);
    else scheduler.cancel(msg.id);
    schedule();
  });
  post({ type: 'ready', info: loaded.info });
}

try {
  main();
} catch (err) {
  post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
}
