/**
 * Dropout: zeroes each element with probability `p` in training mode and scales the rest by
 * 1 / (1 - p), as torch.nn.Dropout; the identity in evaluation mode (`module.eval()`).
 *
 *   y = training ? x · mask / (1 - p),  mask ~ Bernoulli(1 - p)  :  x
 *
 * Shapes: any → same. No parameters.
 *
 * @example
 * const drop = new tn.nn.Dropout({ p: 0.1 });
 * const y = drop.forward(x);   // drop.eval() makes it the identity
 */
import { checkNumber, typeError } from '../errors';
import type { Tensor } from '../tensor';
import { dropout } from './functional';
import { Module } from './module';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Probability of zeroing an element, in [0, 1] (default 0.5). */
  p?: number;
}

/** Dropout; see the module documentation. */
export class Dropout extends Module {
  readonly p: number;

  /** `new Dropout({ p: 0.1 })`, or `new Dropout(0.1)` as PyTorch. */
  constructor(opts: DropoutOptions | number = {}) {
    super();
    if (typeof opts !== 'number' && (opts === null || typeof opts !== 'object')) typeError('Dropout', 'a probability or { p }', opts);
    const p = checkNumber('Dropout: p', typeof opts === 'number' ? opts : opts.p ?? 0.5);
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p: expected a probability in [0, 1], but got ${p}`);
    this.p = p;
  }

  /** Dropout when training, the identity otherwise. */
  forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=false`;
  }
}
