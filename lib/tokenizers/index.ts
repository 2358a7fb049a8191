/**
 * Tokenizers (character-level, byte-level BPE): text ↔ token ids, trained from a corpus, saved and loaded as JSON.
 * `loadTokenizerFile` reads any of them by the JSON's `type`.
 */
import * as fs from 'node:fs';
import { CharTokenizer } from './char';
import type { CharTokenizerJSON } from './char';
import { ByteBPETokenizer } from './byte_bpe';
import type { ByteBPETokenizerJSON } from './byte_bpe';

export { CharTokenizer } from './char';
export type { CharTokenizerJSON } from './char';
export { ByteBPETokenizer } from './byte_bpe';
export type { ByteBPETokenizerJSON, ByteBPETrainOptions } from './byte_bpe';

/** What every tokenizer offers. */
export interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** Loads a tokenizer JSON file written by any tokenizer's `save`. */
export function loadTokenizerFile(path: string): Tokenizer {
  let json: { type?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(path, 'utf8')) as { type?: unknown };
  } catch (err) {
    throw new Error(`loadTokenizerFile: could not read ${path}: ${(err as Error).message}`);
  }
  if (json?.type === 'char') return CharTokenizer.fromJSON(json as CharTokenizerJSON);
  if (json?.type === 'byte-bpe') return ByteBPETokenizer.fromJSON(json as ByteBPETokenizerJSON);
  throw new TypeError(`loadTokenizerFile: ${path}: expected a tokenizer JSON with type 'char' or 'byte-bpe', but got type ${JSON.stringify(json?.type)}`);
}
