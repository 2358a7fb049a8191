/**
 * ByteBPETokenizer: byte-level byte-pair encoding, as GPT-2's tokenizer (Radford et al., 2019).
 *
 * Text is split into pieces by GPT-2's pattern (contractions, letters with an optional leading
 * space, digits, punctuation runs, whitespace), each piece is encoded as UTF-8 bytes (tokens
 * 0–255, so any text encodes and nothing is ever unknown), and learned merges join adjacent
 * tokens: merge i makes token 256 + i from the pair (a, b) that was most frequent in the corpus
 * when it was learned. Encoding applies merges in the order learned, within each piece.
 * Saved as JSON `{ "type": "byte-bpe", "merges": [[a, b], …] }`.
 *
 * @example
 * const bpe = tn.tokenizers.ByteBPETokenizer.train(text, { vocabSize: 1000 });
 * bpe.decode(bpe.encode('Call me Ishmael.'));   // 'Call me Ishmael.'
 */
import * as fs from 'node:fs';
import { checkInt, typeError } from '../errors';
import { writeFileAtomic } from '../io/atomic_write';

/** GPT-2's pre-tokenisation pattern. */
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The JSON form of a {@link ByteBPETokenizer}. */
export interface ByteBPETokenizerJSON {
  type: 'byte-bpe';
  /** Merge i joins tokens [a, b] into token 256 + i. */
  merges: Array<[number, number]>;
}

/** Options of {@link ByteBPETokenizer.train}. */
export interface ByteBPETrainOptions {
  /** Final vocabulary size, ≥ 256 (256 byte tokens + merges). */
  vocabSize: number;
  /** Stop when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
}

const pairKey = (a: number, b: number): number => a * 1_048_576 + b;

/** A byte-level BPE tokenizer; see the module documentation. */
export class ByteBPETokenizer {
  private readonly ranks = new Map<number, number>();
  private readonly bytesOf: Uint8Array[];
  private readonly cache = new Map<string, number[]>();
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder('utf-8');

  private constructor(readonly merges: ReadonlyArray<readonly [number, number]>) {
    this.bytesOf = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
    merges.forEach(([a, b], i) => {
      if (!(a < 256 + i && b < 256 + i && a >= 0 && b >= 0)) throw new RangeError(`ByteBPETokenizer: merge ${i} joins [${a}, ${b}], but only tokens below ${256 + i} exist then`);
      this.ranks.set(pairKey(a, b), i);
      const joined = new Uint8Array(this.bytesOf[a].length + this.bytesOf[b].length);
      joined.set(this.bytesOf[a]);
      joined.set(this.bytesOf[b], this.bytesOf[a].length);
      this.bytesOf.push(joined);
    });
  }

  /** Learns merges from a corpus until the vocabulary has `vocabSize` tokens. */
  static train(text: string, opts: ByteBPETrainOptions): ByteBPETokenizer {
    if (typeof text !== 'string') typeError('ByteBPETokenizer.train', 'a string', text);
    const vocabSize = checkInt('ByteBPETokenizer.train: vocabSize', opts?.vocabSize, 256);
    const minFrequency = checkInt('ByteBPETokenizer.train: minFrequency', opts.minFrequency ?? 2, 1);
    // Distinct pieces with their counts: merges are counted per piece, weighted.
    const counts = new Map<string, number>();
    for (const m of text.matchAll(PIECES)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
    const words: number[][] = [];
    const freq: number[] = [];
    for (const [piece, n] of counts) {
      words.push(Array.from(ByteBPETokenizer.encoder.encode(piece)));
      freq.push(n);
    }
    // Pair counts and, per pair, the words that contain it (updated incrementally).
    const pairCount = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    const addPairs = (w: number, sign: 1 | -1): void => {
      const s = words[w];
      for (let i = 0; i + 1 < s.length; i++) {
        const k = pairKey(s[i], s[i + 1]);
        pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[w]);
        if (sign > 0) {
          let set = where.get(k);
          if (!set) where.set(k, (set = new Set()));
          set.add(w);
        }
      }
    };
    words.forEach((_, w) => addPairs(w, 1));
    const merges: Array<[number, number]> = [];
    while (256 + merges.length < vocabSize) {
      let best = -1;
      let bestCount = 0;
      for (const [k, c] of pairCount) {
        // Ties go to the smaller pair key, so training is deterministic.
        if (c > bestCount || (c === bestCount && c > 0 && k < best)) {
          best = k;
          bestCount = c;
        }
      }
      if (best < 0 || bestCount < minFrequency) break;
      const a = Math.floor(best / 1_048_576);
      const b = best % 1_048_576;
      const id = 256 + merges.length;
      merges.push([a, b]);
      for (const w of where.get(best) ?? []) {
        addPairs(w, -1);
        const s = words[w];
        const out: number[] = [];
        for (let i = 0; i < s.length; i++) {
          if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
            out.push(id);
            i++;
          } else out.push(s[i]);
        }
        words[w] = out;
        addPairs(w, 1);
      }
      where.delete(best);
      pairCount.delete(best);
    }
    return new ByteBPETokenizer(merges);
  }

  /** Rebuilds a tokenizer from its JSON form. */
  static fromJSON(json: ByteBPETokenizerJSON): ByteBPETokenizer {
    if (json === null || typeof json !== 'object' || json.type !== 'byte-bpe' || !Array.isArray(json.merges)) typeError('ByteBPETokenizer.fromJSON', '{ type: "byte-bpe", merges: [[a, b], ...] }', json);
    return new ByteBPETokenizer(json.merges.map((m) => [m[0], m[1]] as [number, number]));
  }

  /** Reads a tokenizer saved by {@link save}. */
  static load(path: string): ByteBPETokenizer {
    return ByteBPETokenizer.fromJSON(JSON.parse(fs.readFileSync(path, 'utf8')) as ByteBPETokenizerJSON);
  }

  /** Number of tokens (256 + merges). */
  get vocabSize(): number {
    return 256 + this.merges.length;
  }

  /** Token ids of `text`. */
  encode(text: string): number[] {
    if (typeof text !== 'string') typeError('ByteBPETokenizer.encode', 'a string', text);
    const out: number[] = [];
    for (const m of text.matchAll(PIECES)) out.push(...this.encodePiece(m[0]));
    return out;
  }

  /** The text of token ids (invalid UTF-8 from a partial sequence decodes as U+FFFD). */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      const b = this.bytesOf[id];
      if (b === undefined) throw new RangeError(`ByteBPETokenizer.decode: expected ids in [0, ${this.vocabSize}), but got ${id}`);
      parts.push(b);
      n += b.length;
    }
    const all = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return ByteBPETokenizer.decoder.decode(all);
  }

  /** The JSON form. */
  toJSON(): ByteBPETokenizerJSON {
    return { type: 'byte-bpe', merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** Writes the JSON form to `path`, atomically (a crash leaves the previous file intact). */
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toJSON()), 'ByteBPETokenizer.save');
  }

  /** Applies the merges to one piece, lowest rank first (cached: pieces repeat). */
  private encodePiece(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let s = Array.from(ByteBPETokenizer.encoder.encode(piece));
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.ranks.get(pairKey(s[i], s[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) break;
      const [a, b] = this.merges[bestRank];
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(256 + bestRank);
          i++;
        } else out.push(s[i]);
      }
      s = out;
    }
    if (this.cache.size < 100_000) this.cache.set(piece, s);
    return s;
  }
}
