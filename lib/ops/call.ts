/**
 * Calling native ops: resolves op indices once and wraps returned handles in Tensors.
 * Internal to the package.
 */
import { native, opId } from '../binding';
import { typeError } from '../errors';
import { Tensor } from '../tensor';

export { opId };

/** Calls an op that returns one tensor. */
export function callT(op: number, ...args: unknown[]): Tensor {
  return Tensor._wrap(native.op(op, ...args) as number);
}

/** Calls an op that returns several tensors. */
export function callTs(op: number, ...args: unknown[]): Tensor[] {
  return (native.op(op, ...args) as number[]).map((id) => Tensor._wrap(id));
}

/** Calls an op that returns a plain value (or nothing). */
export function callV<T = unknown>(op: number, ...args: unknown[]): T {
  return native.op(op, ...args) as T;
}

/** Runs an op that returns one tensor on the native worker. */
export async function callTAsync(op: number, ...args: unknown[]): Promise<Tensor> {
  return Tensor._wrap((await native.opAsync(op, ...args)) as number);
}

/** Runs an op that returns nothing on the native worker. */
export async function callVAsync(op: number, ...args: unknown[]): Promise<void> {
  await native.opAsync(op, ...args);
}

/** The handle of a Tensor argument, or a TypeError naming the argument. */
export function tensorId(where: string, x: unknown): number {
  if (!(x instanceof Tensor)) typeError(where, 'a Tensor', x);
  return x.id;
}
