/**
 * CharTokenizer: one token per Unicode character (code point) of a training corpus, as the
 * character-level models of Karpathy's char-rnn / nanoGPT "shakespeare_char".
 *
 * Ids follow the characters' code-point order, so the same corpus always gives the same
 * vocabulary. Saved as JSON `{ "type": "char", "vocab": ["\n", " ", "!", …] }`.
 *
 * @example
 * const tok = tn.tokenizers.CharTokenizer.train(text);
 * tok.decode(tok.encode('Call me Ishmael.'));   // 'Call me Ishmael.'
 * tok.save('tokenizer.json');
 */
import * as fs from 'node:fs';
import { typeError } from '../errors';
import { writeFileAtomic } from '../io/atomic_write';

/** The JSON form of a {@link CharTokenizer}. */
export interface CharTokenizerJSON {
  type: 'char';
  vocab: string[];
}

/** A character-level tokenizer; see the module documentation. */
export class CharTokenizer {
  private readonly ids: Map<string, number>;

  private constructor(private readonly chars: readonly string[]) {
    this.ids = new Map(chars.map((c, i) => [c, i]));
    if (this.ids.size !== chars.length) throw new TypeError('CharTokenizer: the vocabulary has duplicate characters');
  }

  /** Learns the vocabulary: every distinct character of `text`, in code-point order. */
  static train(text: string): CharTokenizer {
    if (typeof text !== 'string' || text.length === 0) typeError('CharTokenizer.train', 'a non-empty string', text);
    const set = new Set(Array.from(text));
    return new CharTokenizer([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Rebuilds a tokenizer from its JSON form. */
  static fromJSON(json: CharTokenizerJSON): CharTokenizer {
    if (json === null || typeof json !== 'object' || json.type !== 'char' || !Array.isArray(json.vocab) || json.vocab.some((c) => typeof c !== 'string' || Array.from(c).length !== 1)) {
      typeError('CharTokenizer.fromJSON', '{ type: "char", vocab: [single characters] }', json);
    }
    return new CharTokenizer(json.vocab);
  }

  /** Reads a tokenizer saved by {@link save}. */
  static load(path: string): CharTokenizer {
    return CharTokenizer.fromJSON(JSON.parse(fs.readFileSync(path, 'utf8')) as CharTokenizerJSON);
  }

  /** Number of tokens. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /** Token ids of `text`; a character outside the vocabulary is a RangeError naming it. */
  encode(text: string): number[] {
    if (typeof text !== 'string') typeError('CharTokenizer.encode', 'a string', text);
    const out: number[] = [];
    for (const c of text) {
      const id = this.ids.get(c);
      if (id === undefined) throw new RangeError(`CharTokenizer.encode: expected characters of the vocabulary, but got ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
      out.push(id);
    }
    return out;
  }

  /** The text of token ids. */
  decode(ids: readonly number[]): string {
    let s = '';
    for (const id of ids) {
      const c = this.chars[id];
      if (c === undefined) throw new RangeError(`CharTokenizer.decode: expected ids in [0, ${this.chars.length}), but got ${id}`);
      s += c;
    }
    return s;
  }

  /** The JSON form. */
  toJSON(): CharTokenizerJSON {
    return { type: 'char', vocab: [...this.chars] };
  }

  /** Writes the JSON form to `path`, atomically (a crash leaves the previous file intact). */
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toJSON()), 'CharTokenizer.save');
  }
}
