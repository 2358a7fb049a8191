/**
 * Shared by the serving tests: a small random GPT saved as a servable model directory, the
 * compiled dist/ the Engine's worker thread runs, and the CLI's address as it prints it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tn from '../lib';
import { listeningUrl } from '../bench/util';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..');
/** The compiled CLI. */
export const CLI = path.join(ROOT, 'dist', 'lib', 'cli.js');
const CORPUS = 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.\n';

/** Rebuilds dist/ when any lib/ source is newer than the compiled worker (the Engine runs dist/ in its thread). */
export function ensureDist(): void {
  const worker = path.join(ROOT, 'dist', 'lib', 'serve', 'worker.js');
  const newest = (dir: string): number =>
    Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
  if (!fs.existsSync(worker) || fs.statSync(worker).mtimeMs < newest(path.join(ROOT, 'lib'))) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
}

/** Writes a random small GPT (blockSize 96) with a char tokenizer into a fresh directory. */
export function makeModelDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tn-serve-'));
  const tokenizer = tn.tokenizers.CharTokenizer.train(CORPUS);
  tokenizer.save(path.join(dir, 'tokenizer.json'));
  const config = { architecture: 'gpt', name: 'test-gpt', vocabSize: tokenizer.vocabSize, blockSize: 96, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  tn.manualSeed(1234);
  const gpt = new tn.models.GPT(config);
  // Sharpen the random weights a little so sampled and greedy text differ visibly.
  tn.noGrad(() => gpt.lm_head.weight.mul_(4));
  tn.saveSafetensors(path.join(dir, 'model.safetensors'), gpt.stateDict());
  gpt.dispose();
  return dir;
}

/** The URL a CLI child prints once it listens ("... at http://127.0.0.1:PORT"); rejects if it exits first (the benchmarks' helper). */
export const cliUrl = listeningUrl;
