/**
 * Checks of sampling parameters, shared by the Engine (library users) and the HTTP layer, in
 * the project's wording ("<name>: expected …, but got …"). Defaults follow OpenAI's completions.
 */
import type { SamplingParams } from './types';

const DEFAULTS: SamplingParams = { maxTokens: 16, temperature: 1, topK: 0, topP: 1, stop: [], seed: 0 };

function num(name: string, v: unknown, lo: number, hi: number, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name}: expected a number, but got ${v === null ? 'null' : typeof v}`);
  if (integer && !Number.isInteger(v)) throw new RangeError(`${name}: expected an integer, but got ${v}`);
  if (v < lo || v > hi) throw new RangeError(`${name}: expected a value in [${lo}, ${hi}], but got ${v}`);
  return v;
}

/** Fills defaults and validates; a missing seed gets a random one. */
export function checkSampling(p: Partial<SamplingParams>): SamplingParams {
  const out: SamplingParams = { ...DEFAULTS, seed: Math.floor(Math.random() * 2 ** 32) };
  if (p.maxTokens !== undefined) out.maxTokens = num('maxTokens', p.maxTokens, 1, 1 << 20, true);
  if (p.temperature !== undefined) out.temperature = num('temperature', p.temperature, 0, 100, false);
  if (p.topK !== undefined) out.topK = num('topK', p.topK, 0, 1 << 30, true);
  if (p.topP !== undefined) {
    out.topP = num('topP', p.topP, 0, 1, false);
    if (out.topP === 0) throw new RangeError('topP: expected a value in (0, 1], but got 0');
  }
  if (p.seed !== undefined) out.seed = num('seed', p.seed, 0, 2 ** 32 - 1, true);
  if (p.stop !== undefined) {
    const stops = typeof p.stop === 'string' ? [p.stop] : p.stop;
    if (!Array.isArray(stops) || stops.some((s) => typeof s !== 'string' || s.length === 0) || stops.length > 4) {
      throw new TypeError('stop: expected a non-empty string or an array of at most 4 non-empty strings');
    }
    out.stop = stops;
  }
  return out;
}
