/**
 * Argument checking for the public API, in one wording: "<where>: expected <what>, but got
 * <value>". Checks run in JS before anything crosses into C++ (cheap, and the message can
 * name the option a user passed).
 */

/** Describes a value for an error message: its type and a short rendering. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array [${value.slice(0, 8).map((v) => describe(v)).join(', ')}${value.length > 8 ? ', ...' : ''}]`;
  switch (typeof value) {
    case 'number':
      return `number ${value}`;
    case 'string':
      return `string '${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
    case 'bigint':
      return `bigint ${value}n`;
    case 'boolean':
      return `boolean ${value}`;
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    default: {
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? `${name}` : 'object';
    }
  }
}

/** Throws a TypeError in the project's wording. */
export function typeError(where: string, expected: string, got: unknown): never {
  throw new TypeError(`${where}: expected ${expected}, but got ${describe(got)}`);
}

/** Throws a RangeError in the project's wording. */
export function rangeError(where: string, expected: string, got: unknown): never {
  throw new RangeError(`${where}: expected ${expected}, but got ${describe(got)}`);
}

/** An integer (a safe one). */
export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks an integer argument, optionally bounded. */
export function checkInt(where: string, v: unknown, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!isInt(v)) typeError(where, 'an integer', v);
  if (v < min || v > max) rangeError(where, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, v);
  return v;
}

/** Checks a finite number. */
export function checkNumber(where: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) typeError(where, 'a number', v);
  return v;
}

/** Checks a boolean. */
export function checkBool(where: string, v: unknown): boolean {
  if (typeof v !== 'boolean') typeError(where, 'a boolean', v);
  return v;
}

/** Largest element count we let a shape describe (2^48): beyond it no machine has the memory. */
export const MAX_NUMEL = 2 ** 48;

/** Checks a shape: an array of non-negative integers whose product is not absurd. */
export function checkShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) typeError(where, 'a shape (an array of non-negative integers)', shape);
  let numel = 1;
  let span = 1; // the largest stride (+1): must stay exact, even for a zero-element tensor
  for (const d of shape) {
    if (!isInt(d)) typeError(where, 'a shape (an array of non-negative integers)', shape);
    if (d < 0) rangeError(where, 'non-negative dimensions', shape);
    numel *= d;
    span *= Math.max(d, 1);
  }
  if (numel > MAX_NUMEL) rangeError(where, `a shape of at most 2^48 elements`, shape);
  if (span > Number.MAX_SAFE_INTEGER) rangeError(where, 'a shape whose nonzero dimensions multiply to at most 2^53 (its strides must be exact)', shape);
  return shape as number[];
}

/** Checks a dimension index against a rank and returns it normalised to [0, rank). */
export function normDim(where: string, dim: unknown, rank: number): number {
  if (!isInt(dim)) typeError(where, 'an integer dimension', dim);
  const r = Math.max(rank, 1);
  if (dim < -r || dim >= r) rangeError(where, `a dimension in [${-r}, ${r - 1}] for a ${rank}-D tensor`, dim);
  return dim < 0 ? dim + r : dim;
}
