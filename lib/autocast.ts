/**
 * autocast: mixed precision on the CPU, as torch.autocast('cpu', dtype=torch.bfloat16).
 *
 * Inside the scope libtorch's dispatcher runs the ops on its lower-precision list (linear,
 * matmul, bmm, conv, …) in bfloat16 (or float16), casting float32 inputs — weights included, with
 * a per-scope cast cache — and keeps the precision-sensitive ones (layer_norm, softmax, losses,
 * …) in float32. Gradients flow back to the float32 parameters. The fused attention kernel
 * takes whatever dtype its inputs have (bf16 inside, fp32 accumulation).
 *
 * The state is per thread: the scope covers synchronous calls made inside `fn` (async ops run on
 * the native worker, outside it), so `fn` must be synchronous.
 *
 * @example
 * const logits = tn.autocast(() => model.forward(x));          // bfloat16 matmuls
 * const loss = tn.nn.functional.crossEntropy(logits.to('float32'), y);
 */
import { opId } from './binding';
import { callV } from './ops/call';
import { DTYPES } from './dtype';
import type { DType } from './dtype';
import { checkBool, typeError } from './errors';

const OP = { enter: opId('autocastEnter'), exit: opId('autocastExit'), enabled: opId('isAutocastEnabled') };

/** Options of {@link autocast}. */
export interface AutocastOptions {
  /** 'bfloat16' (default) or 'float16'. */
  dtype?: Extract<DType, 'bfloat16' | 'float16'>;
  /** false runs fn without autocast (as torch's enabled=False; nesting a disabled scope turns it off). */
  enabled?: boolean;
}

/** Sets the thread's autocast state to (on, dtype code); returns the previous state. */
function setState(on: boolean, code: number): [boolean, number] {
  // enter() switches autocast on with a dtype and reports the previous state; exit() sets any state.
  const [was, prev] = callV<number[]>(OP.enter, code >= 0 ? code : DTYPES.indexOf('bfloat16'));
  if (!on) callV(OP.exit, false, prev);
  return [was === 1, prev];
}

/** Runs `fn` with CPU autocast on (or off, with enabled: false); see the module documentation. */
export function autocast<T>(fn: () => T, opts: AutocastOptions = {}): T {
  if (typeof fn !== 'function') typeError('autocast', 'a function', fn);
  const dtype = opts.dtype ?? 'bfloat16';
  if (dtype !== 'bfloat16' && dtype !== 'float16') typeError('autocast: dtype', "'bfloat16' or 'float16'", dtype);
  const enabled = checkBool('autocast: enabled', opts.enabled ?? true);
  const [was, prev] = setState(enabled, DTYPES.indexOf(dtype));
  let result: T;
  try {
    result = fn();
  } finally {
    if (enabled) callV(OP.exit, was, prev);
    else {
      // Back to the outer state: one more enter/exit pair keeps libtorch's nesting count balanced.
      callV(OP.enter, prev >= 0 ? prev : DTYPES.indexOf('bfloat16'));
      callV(OP.exit, was, prev);
    }
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError('autocast: expected a synchronous function (autocast state is per thread and would leak across awaits), but fn returned a Promise');
  }
  return result;
}

/** True inside an autocast scope. */
export function isAutocastEnabled(): boolean {
  return callV<boolean>(OP.enabled);
}
