/**
 * Linear: y = x·Wᵀ + b, as torch.nn.Linear.
 *
 * Shapes: x (*, inFeatures) → y (*, outFeatures); weight (outFeatures, inFeatures), bias
 * (outFeatures). Initialised as PyTorch does (Kaiming-uniform with a = √5, which makes both
 * weight and bias uniform in ±1/√inFeatures), so a state dict from `torch.nn.Linear` loads
 * unchanged.
 *
 * @example
 * const fc = new tn.nn.Linear(4, 2);
 * const y = fc.forward(tn.randn([8, 4]));   // (8, 2)
 */
import { empty } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt } from '../errors';
import { noGrad } from '../autograd';
import { Tensor } from '../tensor';
import { linear } from './functional';
import { Module } from './module';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** Fills a new (shape) tensor uniformly in [-bound, bound] without recording gradients. */
export function uniformParameter(shape: number[], bound: number, opts: { dtype?: DType; device?: Device }): Tensor {
  return noGrad(() => empty(shape, { dtype: opts.dtype, device: opts.device }).uniform_(-bound, bound));
}

/** A fully connected layer; see the module documentation. */
export class Linear extends Module {
  /** (outFeatures, inFeatures). */
  declare weight: Tensor;
  /** (outFeatures), or null without bias. */
  declare bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkInt('Linear: inFeatures', inFeatures, 0);
    this.outFeatures = checkInt('Linear: outFeatures', outFeatures, 0);
    const bias = checkBool('Linear: bias', opts.bias ?? true);
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.registerParameter('weight', uniformParameter([outFeatures, inFeatures], bound, opts));
    this.registerParameter('bias', bias ? uniformParameter([outFeatures], bound, opts) : null);
  }

  /** y = x·Wᵀ + b. */
  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
