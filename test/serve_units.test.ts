/**
 * The serving engine's host-side pieces: per-request sampling (against probabilities computed
 * independently in float64), stop-string streaming, and parameter checks.
 */
import { sampleRow, seededRandom } from '../lib/models/sampling';
import { StopMatcher } from '../lib/serve/stop_matcher';
import { checkSampling } from '../lib/serve/validate';

describe('sampleRow', () => {
  const logits = Float32Array.from([0.5, 2.0, -1.0, 1.5, 0.0, 1.9]);
  const V = logits.length;

  /** softmax(logits / t) restricted to the top-k, then to the top-p prefix, renormalised. */
  function expected(t: number, k: number, p: number): number[] {
    const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, k || V);
    const w = order.map((i) => Math.exp(logits[i] / t));
    const z = w.reduce((a, b) => a + b, 0);
    let keep = order.length;
    let mass = 0;
    for (let r = 0; r < order.length; r++) {
      mass += w[r] / z;
      if (mass >= p) {
        keep = r + 1;
        break;
      }
    }
    const zk = w.slice(0, keep).reduce((a, b) => a + b, 0);
    const out = new Array<number>(V).fill(0);
    for (let r = 0; r < keep; r++) out[order[r]] = w[r] / zk;
    return out;
  }

  it.each([
    [1, 0, 1],
    [0.7, 0, 1],
    [1, 3, 1],
    [1.3, 0, 0.8],
    [1, 4, 0.6],
  ])('temperature %p, topK %p, topP %p: frequencies match the distribution', (t, k, p) => {
    const random = seededRandom(42);
    const n = 40_000;
    const counts = new Array<number>(V).fill(0);
    for (let i = 0; i < n; i++) counts[sampleRow(logits, 0, V, { temperature: t, topK: k, topP: p }, random)]++;
    const want = expected(t, k, p);
    for (let j = 0; j < V; j++) {
      if (want[j] === 0) expect(counts[j]).toBe(0);
      // 5 standard deviations of a binomial count.
      else expect(Math.abs(counts[j] / n - want[j])).toBeLessThan(5 * Math.sqrt((want[j] * (1 - want[j])) / n) + 1e-9);
    }
  });

  it('temperature 0 is argmax, and reads the row at its offset', () => {
    const two = Float32Array.from([...logits, 9, 0, 0, 0, 0, 0]);
    expect(sampleRow(two, 0, V, { temperature: 0, topK: 0, topP: 1 }, Math.random)).toBe(1);
    expect(sampleRow(two, V, V, { temperature: 0, topK: 0, topP: 1 }, Math.random)).toBe(0);
  });

  it('a seed fixes the stream', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('StopMatcher', () => {
  function run(stops: string[], pieces: string[]): { out: string; stopped: boolean; rest: string } {
    const m = new StopMatcher(stops);
    let out = '';
    for (const p of pieces) {
      const r = m.push(p);
      out += r.emit;
      if (r.stopped) return { out, stopped: true, rest: '' };
    }
    return { out, stopped: false, rest: m.flush() };
  }

  it('stops before a stop string split across chunks and never emits its beginning', () => {
    const m = new StopMatcher(['\n\n', 'END']);
    expect(m.push('abc E')).toEqual({ emit: 'abc ', stopped: false });
    expect(m.push('N')).toEqual({ emit: '', stopped: false });
    expect(m.push('Dxyz')).toEqual({ emit: '', stopped: true });
    expect(run(['\n\n'], ['one\n', '\ntwo'])).toEqual({ out: 'one', stopped: true, rest: '' });
  });

  it('releases held text when it turns out not to be a stop string', () => {
    expect(run(['END'], ['E', 'N', 'x'])).toEqual({ out: 'ENx', stopped: false, rest: '' });
    expect(run(['END'], ['abc', 'EN'])).toEqual({ out: 'abc', stopped: false, rest: 'EN' });
  });

  it('takes the earliest of several stops; without stops passes everything through', () => {
    expect(run(['b', 'a'], ['xxab'])).toEqual({ out: 'xx', stopped: true, rest: '' });
    expect(run([], ['a', 'b'])).toEqual({ out: 'ab', stopped: false, rest: '' });
  });
});

describe('checkSampling', () => {
  it('fills OpenAI defaults', () => {
    const p = checkSampling({ seed: 3 });
    expect(p).toEqual({ maxTokens: 16, temperature: 1, topK: 0, topP: 1, stop: [], seed: 3 });
  });

  it.each([
    [{ maxTokens: 0 }, RangeError, 'maxTokens: expected a value in [1,'],
    [{ maxTokens: 2.5 }, RangeError, 'maxTokens: expected an integer, but got 2.5'],
    [{ temperature: -1 }, RangeError, 'temperature: expected a value in [0, 100], but got -1'],
    [{ temperature: NaN }, TypeError, 'temperature: expected a number'],
    [{ topP: 0 }, RangeError, 'topP: expected a value in (0, 1], but got 0'],
    [{ topK: -2 }, RangeError, 'topK'],
    [{ stop: ['a', ''] }, TypeError, 'stop: expected'],
    [{ stop: 'abcde'.split('') }, TypeError, 'at most 4'],
  ])('%p is refused', (p, cls, message) => {
    expect(() => checkSampling(p as never)).toThrow(cls as ErrorConstructor);
    expect(() => checkSampling(p as never)).toThrow(message);
  });
});
