/**
 * Autograd controls: grad mode, inference mode and `autograd.grad`. Backward itself is
 * `Tensor.backward()`. Modes are thread-local in libtorch: they apply to synchronous calls
 * inside the function, and async ops started there carry them to the native worker.
 */
import { native } from './binding';
import { typeError } from './errors';
import { opId } from './ops/call';
import { Tensor } from './tensor';

function scoped<T>(where: string, fn: () => T, enter: () => void, exit: () => void): T {
  if (typeof fn !== 'function') typeError(where, 'a function', fn);
  enter();
  try {
    const result = fn();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function')
      throw new TypeError(`${where}: expected a synchronous function, but it returned a Promise (libtorch's modes are per call, not per promise)`);
    return result;
  } finally {
    exit();
  }
}

/** Runs `fn` with gradient tracking off, as `with torch.no_grad()`. */
export function noGrad<T>(fn: () => T): T {
  let previous = true;
  return scoped('noGrad', fn, () => (previous = native.setGradEnabled(false)), () => native.setGradEnabled(previous));
}

/** Runs `fn` with gradient tracking on, as `with torch.enable_grad()`. */
export function enableGrad<T>(fn: () => T): T {
  let previous = true;
  return scoped('enableGrad', fn, () => (previous = native.setGradEnabled(true)), () => native.setGradEnabled(previous));
}

/** Runs `fn` in inference mode (no autograd bookkeeping at all), as `torch.inference_mode()`. */
export function inferenceMode<T>(fn: () => T): T {
  return scoped('inferenceMode', fn, () => native.pushInferenceMode(true), () => native.popInferenceMode());
}

/** Whether gradient tracking is on. */
export const isGradEnabled = (): boolean => native.isGradEnabled();
/** Turns gradient tracking on or off globally (prefer {@link noGrad}). */
export const setGradEnabled = (enabled: boolean): void => void native.setGradEnabled(!!enabled);
/** Whether inference mode is on. */
export const isInferenceModeEnabled = (): boolean => native.isInferenceMode();

/** Options of {@link grad}. */
export interface GradOptions {
  /** Gradients of the outputs (default ones, for scalar outputs). */
  gradOutputs?: Tensor[];
  /** Keep the graph for another backward. */
  retainGraph?: boolean;
  /** Build a graph of the gradient itself (higher-order derivatives). */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

const GRAD = opId('autogradGrad');
/** Gradients of `outputs` with respect to `inputs`, as torch.autograd.grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const ids = (xs: Tensor[], name: string) => xs.map((x) => (x instanceof Tensor ? x.id : typeError(`grad: ${name}`, 'Tensors', x)));
  const raw = native.op(GRAD, ids(outs, 'outputs'), ids(ins, 'inputs'), opts.gradOutputs ? ids(opts.gradOutputs, 'gradOutputs') : null,
    !!opts.retainGraph, !!opts.createGraph, !!opts.allowUnused) as (number | null)[];
  return raw.map((id) => (id === null ? null : Tensor._wrap(id)));
}
