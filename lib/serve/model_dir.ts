/**
 * Where a served model's files are and how to load them.
 *
 * A model is three files: weights (safetensors, PyTorch state-dict keys), config.json (the
 * model class's constructor options, plus `architecture`, default "gpt"), and tokenizer.json
 * (as saved by tn.tokenizers). `resolveModelFiles` accepts a directory holding
 * model.safetensors / config.json / tokenizer.json, or a .safetensors file with the other two
 * beside it (or given explicitly).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPT } from '../models/gpt';
import type { GPTOptions } from '../models/gpt';
import { loadSafetensors } from '../safetensors';
import { loadTokenizerFile } from '../tokenizers';
import type { ModelInfo } from './protocol';
import type { TextTokenizer } from './scheduler';

/** The three files of a served model. */
export interface ModelFiles {
  weights: string;
  config: string;
  tokenizer: string;
}

/** Finds a model's files from a directory or a .safetensors path (see the module documentation). */
export function resolveModelFiles(model: string, opts: { config?: string; tokenizer?: string } = {}): ModelFiles {
  const at = path.resolve(model);
  if (!fs.existsSync(at)) throw new Error(`model: ${at} does not exist (expected a directory with model.safetensors, config.json and tokenizer.json, or a .safetensors file)`);
  const dir = fs.statSync(at).isDirectory() ? at : path.dirname(at);
  const files: ModelFiles = {
    weights: fs.statSync(at).isDirectory() ? path.join(dir, 'model.safetensors') : at,
    config: path.resolve(opts.config ?? path.join(dir, 'config.json')),
    tokenizer: path.resolve(opts.tokenizer ?? path.join(dir, 'tokenizer.json')),
  };
  for (const [what, file] of Object.entries(files)) {
    if (!fs.existsSync(file)) throw new Error(`model: the ${what} file ${file} does not exist`);
  }
  return files;
}

/** Loads the tokenizer of a model. */
export function loadTokenizer(file: string): TextTokenizer {
  return loadTokenizerFile(file);
}

/** Reads config.json: the model options, with `architecture` (only "gpt" is served today). */
function readConfig(file: string): { architecture: string; name: string; options: GPTOptions; eosTokenId?: number } {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const architecture = typeof raw.architecture === 'string' ? raw.architecture : 'gpt';
  if (architecture !== 'gpt') throw new Error(`config ${file}: architecture '${architecture}' cannot be served (expected 'gpt')`);
  const options = (typeof raw.model === 'object' && raw.model !== null ? raw.model : raw) as GPTOptions;
  const name = typeof raw.name === 'string' ? raw.name : path.basename(path.dirname(file));
  return { architecture, name, options, eosTokenId: typeof raw.eosTokenId === 'number' ? raw.eosTokenId : undefined };
}

/** Builds the model, loads its weights strictly and puts it in eval mode. */
export function loadModel(files: ModelFiles): { model: GPT; tokenizer: TextTokenizer; info: ModelInfo; eosTokenId?: number } {
  const cfg = readConfig(files.config);
  const gpt = new GPT(cfg.options);
  const weights = loadSafetensors(files.weights);
  gpt.loadStateDict(weights, { strict: true });
  for (const t of Object.values(weights)) t.dispose();
  gpt.eval();
  let parameters = 0;
  for (const [, p] of gpt.namedParameters()) parameters += p.numel();
  const info: ModelInfo = { name: cfg.name, contextLength: cfg.options.blockSize, vocabSize: cfg.options.vocabSize, parameters };
  return { model: gpt, tokenizer: loadTokenizer(files.tokenizer), info, eosTokenId: cfg.eosTokenId };
}
