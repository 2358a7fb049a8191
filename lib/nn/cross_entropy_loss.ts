/**
 * CrossEntropyLoss, as torch.nn.CrossEntropyLoss: log-softmax of the logits and negative
 * log-likelihood of the targets, with optional class weights, an ignored target value and
 * label smoothing.
 *
 *   ℓ_n = −Σ_c w_c · q_{n,c} · log softmax(x_n)_c,   q = (1 − ε)·onehot(y_n) + ε / C
 *
 * 'mean' divides by Σ_n w_{y_n} over non-ignored targets. Shapes: input (N, C) or
 * (N, C, d1, ...) logits, target int64 (N) / (N, d1, ...) class indices (or float
 * probabilities of the input's shape) → a scalar ('mean', 'sum') or (N, d1, ...) ('none').
 * `weight` (C) is a buffer: state-dict key `weight` when given, as PyTorch.
 *
 * @example
 * const lossFn = new tn.nn.CrossEntropyLoss({ ignoreIndex: 0, labelSmoothing: 0.1 });
 * const loss = lossFn.forward(logits.reshape(-1, vocab), targets.reshape(-1));
 */
import { checkInt, checkNumber, typeError } from '../errors';
import { Tensor } from '../tensor';
import { crossEntropy } from './functional';
import type { Reduction } from './functional';
import { Module } from './module';

/** Options of {@link CrossEntropyLoss}. */
export interface CrossEntropyLossOptions {
  /** Per-class weights (C). */
  weight?: Tensor | null;
  /** Target value that contributes nothing, not even to the mean's denominator (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
  /** ε in [0, 1]: mixes the targets with the uniform distribution (default 0). */
  labelSmoothing?: number;
}

/** Checks a reduction name. */
export function reductionArg(where: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') typeError(where, "'none', 'mean' or 'sum'", r);
  return r;
}

/** Cross-entropy loss; see the module documentation. */
export class CrossEntropyLoss extends Module {
  /** (C) class weights, or null. */
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly reduction: Reduction;
  readonly labelSmoothing: number;

  constructor(opts: CrossEntropyLossOptions = {}) {
    super();
    if (opts.weight != null && !(opts.weight instanceof Tensor)) typeError('CrossEntropyLoss: weight', 'a Tensor', opts.weight);
    this.ignoreIndex = checkInt('CrossEntropyLoss: ignoreIndex', opts.ignoreIndex ?? -100);
    this.reduction = reductionArg('CrossEntropyLoss: reduction', opts.reduction ?? 'mean');
    const ls = checkNumber('CrossEntropyLoss: labelSmoothing', opts.labelSmoothing ?? 0);
    if (!(ls >= 0 && ls <= 1)) throw new RangeError(`CrossEntropyLoss: labelSmoothing: expected a number in [0, 1], but got ${ls}`);
    this.labelSmoothing = ls;
    this.registerBuffer('weight', opts.weight ?? null);
  }

  /** The loss of `input` logits against `target`. */
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight ?? undefined, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing,
    });
  }

  override extraRepr(): string {
    return `ignore_index=${this.ignoreIndex}, reduction='${this.reduction}', label_smoothing=${this.labelSmoothing}`;
  }
}
