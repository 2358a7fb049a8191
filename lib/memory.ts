/**
 * Deterministic freeing of native tensor memory.
 *
 * - `dispose()` / `[Symbol.dispose]` free one tensor now (so TypeScript `using` works).
 * - {@link tidy} frees every tensor created inside a scope, except what the scope returns.
 * - Outside scopes, tensors are freed after V8 collects their objects, also inside a long
 *   synchronous loop (the addon sweeps its weak references after each full collection, see
 *   binding/addon.cpp). That is a safety net: `tidy` or `dispose` free at once.
 */
import { native } from './binding';

/** Anything with native memory that a scope can free. */
export interface Freeable {
  dispose(): void;
  readonly isDisposed: boolean;
}

/** Marks objects that tidy scopes track (tensors). */
export const TRACKED = Symbol.for('transformer-native.tracked');

const scopes: Freeable[][] = [];

const kept = new WeakSet<Freeable>();

// Tensors outside scopes are freed when V8 collects their objects: the addon keeps a weak
// reference to each and sweeps the collected ones after each full collection, both inside
// synchronous loops (as ops run) and, once the loop is idle, from this timer. (A
// FinalizationRegistry would only run when the event loop turns, and its cells pile up in
// the JS heap meanwhile: 2M cells, ~130 MB, in a million-op loop.)
let sweeper: NodeJS.Timeout | undefined;
function startSweeper(): void {
  sweeper = setInterval(() => native.sweep(), 200);
  sweeper.unref();
}

/**
 * Takes charge of a new tensor: the innermost tidy scope frees it; outside any scope the
 * garbage collector is its safety net. A weak reference costs ~0.1 us, as much as a small
 * op, so tensors inside scopes skip it (the scope frees them for sure), and tensors outside
 * scopes are handed to the addon in batches: a tensor disposed before its batch is flushed
 * (the common `a.add(b).dispose()`, or `using`) never pays for it.
 */
export function track(t: Freeable & { _id: number }): void {
  if (scopes.length !== 0) scopes[scopes.length - 1].push(t);
  else defer(t);
}

const unregistered: (Freeable & { _id: number })[] = [];
const BATCH = 1024;
let flushQueued = false;

function defer(t: Freeable & { _id: number }): void {
  unregistered.push(t);
  if (unregistered.length >= BATCH) flushRegistrations();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushRegistrations);
  }
}

function flushRegistrations(): void {
  flushQueued = false;
  const alive = unregistered.filter((t) => !t.isDisposed);
  unregistered.length = 0;
  if (alive.length === 0) return;
  native.adopt(alive);
  if (sweeper === undefined) startSweeper();
}

function collectReturned(value: unknown, out: Set<Freeable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if ((value as Record<symbol, unknown>)[TRACKED]) {
    out.add(value as Freeable);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectReturned(v, out, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectReturned(v, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectReturned(v, out, depth + 1);
  }
}

/**
 * Runs `fn` and frees every tensor it created, except the tensors it returns (found in the
 * returned value, arrays, Maps and plain objects) and those passed to {@link keep}. Returned
 * tensors move to the enclosing scope. `fn` must be synchronous.
 *
 * @example
 * const loss = tn.tidy(() => model.forward(x).sub(y).pow(2).mean()); // temporaries freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: expected a function, but got ${typeof fn}`);
  const scope: Freeable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    disposeScope(scope, new Set());
    throw err;
  }
  scopes.pop();
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    disposeScope(scope, new Set());
    throw new TypeError('tidy: expected a synchronous function, but it returned a Promise; free async results with dispose()');
  }
  const returned = new Set<Freeable>();
  collectReturned(result, returned);
  disposeScope(scope, returned);
  for (const t of returned) if (!t.isDisposed && scope.lastIndexOf(t) >= 0) track(t as Freeable & { _id: number }); // only this scope's tensors move up
  return result;
}

function disposeScope(scope: Freeable[], returned: Set<Freeable>): void {
  for (const t of scope) {
    if (returned.has(t) || kept.has(t)) continue;
    t.dispose();
  }
}

/** Exempts a tensor from every enclosing tidy scope (it lives until disposed or collected). */
export function keep<T extends Freeable>(t: T): T {
  if (!kept.has(t) && scopes.length !== 0 && !t.isDisposed) defer(t as unknown as Freeable & { _id: number });
  kept.add(t);
  return t;
}

/** Disposes every tensor found in a value (a tensor, or arrays/objects/Maps of them). */
export function dispose(value: unknown): void {
  const found = new Set<Freeable>();
  collectReturned(value, found);
  for (const t of found) t.dispose();
}

/** Live native tensors and the bytes of their distinct storages. */
export interface MemoryInfo {
  /** Tensor handles not yet disposed or collected. */
  liveTensors: number;
  /** Bytes of the distinct storages those handles keep alive. */
  bytes: number;
  /** Async ops queued or running on the native worker. */
  pendingAsync: number;
}

/** Reports live tensors and their memory. */
export function memory(): MemoryInfo {
  return native.memory();
}
