/**
 * GELU activation, as torch.nn.GELU.
 *
 *   'none': y = x · Φ(x) = x/2 · (1 + erf(x / √2))
 *   'tanh': y = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
 *
 * Shapes: any → same. No parameters.
 *
 * @example
 * const act = new tn.nn.GELU({ approximate: 'tanh' });
 * const y = act.forward(tn.randn([4, 8]));
 */
import { typeError } from '../errors';
import type { Tensor } from '../tensor';
import { gelu } from './functional';
import { Module } from './module';

/** Options of {@link GELU}. */
export interface GELUOptions {
  /** 'none' (exact, default) or 'tanh' (the tanh approximation). */
  approximate?: 'none' | 'tanh';
}

/** GELU; see the module documentation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(opts: GELUOptions = {}) {
    super();
    const a = opts.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') typeError('GELU: approximate', "'none' or 'tanh'", a);
    this.approximate = a;
  }

  /** y = GELU(x). */
  forward(input: Tensor): Tensor {
    return gelu(input, this.approximate);
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}
