/**
 * Shared test helpers: fixture loading and numeric comparison of tensors.
 */
import * as path from 'node:path';
import { types } from 'node:util';

import * as tn from '../lib';
import type { Tensor } from '../lib';

/** Where make_fixtures.py writes its files. */
export const FIXTURES = path.join(__dirname, 'fixtures');

/** The path of a fixture file (`name` without extension). */
export const fixturePath = (name: string): string => path.join(FIXTURES, `${name}.safetensors`);

/** The elements of a tensor, row-major, as JS numbers (bool → 0/1, int64 → Number). */
export function flat(t: Tensor): number[] {
  return Array.from(values(t));
}

/** The elements of a tensor, row-major, as a numeric array-like (a copy; int64 → Float64Array). */
export function values(t: Tensor): ArrayLike<number> {
  const data = t.toTypedArray({ copy: true });
  return data instanceof BigInt64Array || Object.prototype.toString.call(data) === '[object BigInt64Array]'
    ? Float64Array.from(data as BigInt64Array, Number)
    : (data as ArrayLike<number>);
}

function coords(i: number, shape: number[]): string {
  const c: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    c.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${c.join(', ')}]`;
}

/** Options of {@link expectClose}. */
export interface CloseOptions {
  /** Also require equal dtypes (default true). */
  checkDtype?: boolean;
  /** What is compared, for the failure message. */
  what?: string;
}

/**
 * Asserts that two tensors have the same shape (and dtype) and elementwise
 * |actual - expected| <= atol + rtol * |expected|; NaNs must match NaNs, infinities must be
 * equal. Fails with the first mismatching element and the number of mismatches.
 */
export function expectClose(actual: Tensor, expected: Tensor, atol = 1e-6, rtol = 1e-5, opts: CloseOptions = {}): void {
  const what = opts.what ? `${opts.what}: ` : '';
  if (!(actual instanceof tn.Tensor)) throw new Error(`${what}expected a Tensor, got ${String(actual)}`);
  const as = actual.shape;
  const es = expected.shape;
  if (as.length !== es.length || as.some((d, i) => d !== es[i])) throw new Error(`${what}shape [${as}] differs from the expected [${es}]`);
  if ((opts.checkDtype ?? true) && actual.dtype !== expected.dtype)
    throw new Error(`${what}dtype ${actual.dtype} differs from the expected ${expected.dtype}`);
  const a = values(actual);
  const e = values(expected);
  let bad = 0;
  let first = -1;
  let worst = 0;
  // No global lookups (Number.isNaN, Math.abs) in the loop: under jest's vm context each
  // costs hundreds of nanoseconds, which adds up to seconds on a 1500x1500 comparison.
  const n = e.length;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = e[i];
    let ok: boolean;
    if (y !== y) ok = x !== x; // NaN
    else if (y - y !== 0) ok = x === y; // ±Infinity
    else {
      const diff = x > y ? x - y : y - x;
      ok = diff <= atol + rtol * (y < 0 ? -y : y);
      if (!ok && !(diff <= worst)) worst = diff;
    }
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new Error(
      `${what}${bad} of ${e.length} elements differ (atol ${atol}, rtol ${rtol}); first at ${coords(first, es)}: ` +
        `actual ${a[first]}, expected ${e[first]}; largest difference ${worst}`,
    );
  }
}

/** The inputs, outputs, upstream gradients and gradients of one fixture case. */
export interface FixtureCase {
  name: string;
  inputs: Record<string, Tensor>;
  /** One entry per output, in order. */
  outputs: Tensor[];
  /** Whether the case has a single output (`<case>.out`) rather than a list. */
  single: boolean;
  /** Upstream gradient per output index (floating outputs only). */
  gouts: Map<number, Tensor>;
  grads: Record<string, Tensor>;
}

/** Loads a fixture file and groups its tensors by case (see make_fixtures.py for the names). */
export function loadCases(file: string): { cases: Map<string, FixtureCase>; all: Record<string, Tensor> } {
  const all = tn.loadSafetensors(fixturePath(file));
  const cases = new Map<string, FixtureCase>();
  const get = (name: string): FixtureCase => {
    let c = cases.get(name);
    if (!c) {
      c = { name, inputs: {}, outputs: [], single: false, gouts: new Map(), grads: {} };
      cases.set(name, c);
    }
    return c;
  };
  for (const [key, t] of Object.entries(all)) {
    const m = /^([^.]+)\.(in|out|gout|grad)(?:\.(.+))?$/.exec(key);
    if (!m) throw new Error(`fixture ${file}: unexpected tensor name '${key}'`);
    const [, name, kind, sub] = m;
    const c = get(name);
    if (kind === 'in') c.inputs[sub] = t;
    else if (kind === 'grad') c.grads[sub] = t;
    else if (kind === 'out') {
      if (sub === undefined) {
        c.single = true;
        c.outputs[0] = t;
      } else c.outputs[Number(sub)] = t;
    } else c.gouts.set(sub === undefined ? 0 : Number(sub), t);
  }
  return { cases, all };
}

/** Tolerances by dtype: float64 results should agree to rounding, float32 to ~1e-6. */
export function tolerance(dtype: string): [atol: number, rtol: number] {
  switch (dtype) {
    case 'float64':
      return [1e-10, 1e-8];
    case 'float32':
      return [1e-6, 1e-5];
    case 'float16':
    case 'bfloat16':
      return [1e-2, 1e-2];
    default:
      return [0, 0];
  }
}

/** Counts event-loop turns (setImmediate) until stopped. */
export function countTicks(): { stop: () => number } {
  let n = 0;
  let running = true;
  const spin = (): void => {
    if (!running) return;
    n++;
    setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop: () => {
      running = false;
      return n;
    },
  };
}

/**
 * Whether a value is an Error. Realm-independent: under jest, test code runs in a vm
 * context whose Error classes differ from those of the addon's errors (created in the main
 * context), so `instanceof` alone would reject the addon's errors.
 */
export function isError(e: unknown): e is Error {
  return e instanceof Error || types.isNativeError(e);
}

/** The kinds of error the API throws. */
export type ErrorKind = 'Error' | 'TypeError' | 'RangeError';

function checkError(e: unknown, kind: ErrorKind, message?: RegExp): Error {
  if (!isError(e)) throw new Error(`expected an Error, but ${String(e)} was thrown`);
  if (kind !== 'Error' && e.name !== kind) throw new Error(`expected a ${kind}, but got ${e.name}: ${e.message}`);
  if (message && !message.test(e.message)) throw new Error(`expected the message to match ${message}, but it is: ${e.message}`);
  return e;
}

/** Asserts that `fn` throws an Error of `kind` (by name, across realms) whose message matches. */
export function expectThrows(fn: () => unknown, kind: ErrorKind = 'Error', message?: RegExp): Error {
  try {
    fn();
  } catch (e) {
    return checkError(e, kind, message);
  }
  throw new Error(`expected a ${kind} to be thrown, but the call returned`);
}

/** Asserts that a promise rejects with an Error of `kind` whose message matches. */
export async function expectRejects(p: Promise<unknown>, kind: ErrorKind = 'Error', message?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return checkError(e, kind, message);
  }
  throw new Error(`expected the promise to reject with a ${kind}, but it resolved`);
}
