/**
 * Optimiser state as safetensors: a state dict in PyTorch's layout becomes flat tensors
 * `state.<param index>.<key>` (exp_avg, exp_avg_sq, momentum_buffer, step, ...) plus the
 * parameter groups as JSON metadata (`param_groups`), and back. With the model's
 * `stateDict()` this is a complete checkpoint; resuming from it continues bit-identically.
 *
 *   { state: { 0: { step, exp_avg } }, param_groups: [...] }
 *     ⇄  tensors { 'state.0.step', 'state.0.exp_avg' } + metadata { param_groups: '[...]' }
 *
 * @example
 * tn.saveSafetensors('opt.safetensors', ...Object.values(tn.optim.flattenOptimizerState(opt.stateDict())));
 * const { tensors, metadata } = tn.loadSafetensorsWithMetadata('opt.safetensors');
 * opt.loadStateDict(tn.optim.unflattenOptimizerState(tensors, metadata));
 */
import { typeError } from '../errors';
import { Tensor } from '../tensor';
import type { OptimizerStateDict } from './optimizer';

/** Flat tensors and string metadata, as safetensors stores them. */
export interface FlatOptimizerState {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** A state dict in PyTorch's layout → flat tensors + metadata (the tensors are the dict's own). */
export function flattenOptimizerState(sd: OptimizerStateDict): FlatOptimizerState {
  if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups)) typeError('flattenOptimizerState', 'an optimizer state dict ({ state, param_groups })', sd);
  const tensors: Record<string, Tensor> = {};
  for (const [i, entry] of Object.entries(sd.state)) for (const [k, t] of Object.entries(entry)) tensors[`state.${i}.${k}`] = t;
  return { tensors, metadata: { param_groups: JSON.stringify(sd.param_groups) } };
}

/** Flat tensors + metadata (from {@link flattenOptimizerState}, via safetensors) → a state dict. */
export function unflattenOptimizerState(tensors: Record<string, Tensor>, metadata: Record<string, string> | null | undefined): OptimizerStateDict {
  if (tensors === null || typeof tensors !== 'object') typeError('unflattenOptimizerState: tensors', 'an object of named Tensors', tensors);
  const groups = metadata?.param_groups;
  if (typeof groups !== 'string') typeError('unflattenOptimizerState: metadata.param_groups', 'a JSON string', groups);
  const state: OptimizerStateDict['state'] = {};
  for (const [key, t] of Object.entries(tensors)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!m) throw new RangeError(`unflattenOptimizerState: unexpected tensor name '${key}' (expected 'state.<index>.<key>')`);
    if (!(t instanceof Tensor)) typeError(`unflattenOptimizerState: ${key}`, 'a Tensor', t);
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, param_groups: JSON.parse(groups) };
}
