/**
 * tn.tokenizers.ByteBPETokenizer: merges learned by hand on a tiny corpus, lossless round trips
 * of arbitrary Unicode (property test), save/load, and a real corpus (Moby Dick).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tn from '../lib';
import { expectThrows } from './helpers';

const { ByteBPETokenizer } = tn.tokenizers;

describe('ByteBPETokenizer', () => {
  it('learns the merges worked out by hand', () => {
    // Pieces 'aaab' and ' aaab': (a,a) occurs 4 times → 256; then (a,b) and (256,a) tie at 2 and
    // the smaller pair (a,b) wins → 257; then (256,257) → 258; (' ',256) occurs once < minFrequency 2.
    const bpe = ByteBPETokenizer.train('aaab aaab', { vocabSize: 300 });
    expect(bpe.merges).toEqual([[97, 97], [97, 98], [256, 257]]);
    expect(bpe.vocabSize).toBe(259);
    expect(bpe.encode('aaab aaab')).toEqual([258, 32, 258]);
    expect(bpe.encode('ab')).toEqual([257]);
    expect(bpe.encode('é')).toEqual([0xc3, 0xa9]); // unseen text falls back to bytes
  });

  it('round-trips any Unicode text losslessly', () => {
    const bpe = ByteBPETokenizer.train('Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, 12 3456. ', { vocabSize: 320, minFrequency: 1 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => bpe.decode(bpe.encode(s)) === s), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      // Lone surrogates are not representable in UTF-8: they come back as U+FFFD, like TextEncoder.
      return bpe.decode(bpe.encode(s)) === new TextDecoder().decode(new TextEncoder().encode(s));
    }), { numRuns: 300 });
  });

  it('saves and loads as JSON; refuses bad ids and bad files', () => {
    const bpe = ByteBPETokenizer.train('the cat sat on the mat; the cat ate the rat', { vocabSize: 270 });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tn-bpe-')), 'tokenizer.json');
    bpe.save(file);
    const back = tn.tokenizers.loadTokenizerFile(file);
    expect(back.encode('the cat')).toEqual(bpe.encode('the cat'));
    expectThrows(() => bpe.decode([5000]), 'RangeError', /ids in \[0, \d+\), but got 5000/);
    expectThrows(() => ByteBPETokenizer.fromJSON({ type: 'byte-bpe', merges: [[300, 1]] }), 'RangeError', /only tokens below 256 exist/);
    expectThrows(() => ByteBPETokenizer.train('x', { vocabSize: 100 }), 'RangeError', /vocabSize/);
  });

  it('compresses a real corpus: Moby Dick with 1,000 tokens', () => {
    const text = tn.data.mobyDick().slice(0, 300_000);
    const bpe = ByteBPETokenizer.train(text, { vocabSize: 1000 });
    expect(bpe.vocabSize).toBe(1000);
    const ids = bpe.encode(text);
    expect(bpe.decode(ids)).toBe(text);
    // Byte-level start: 1 token per byte; 1,000 merges on English give well over 2 bytes a token.
    expect(Buffer.byteLength(text) / ids.length).toBeGreaterThan(2.5);
    expect(bpe.decode(bpe.encode(' the whale'))).toBe(' the whale');
    expect(bpe.encode(' the').length).toBe(1);
  });
});
