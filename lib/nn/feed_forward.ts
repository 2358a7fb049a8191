/**
 * FeedForward: the position-wise MLP of a transformer block, plain or gated.
 *
 *   plain ('relu', 'gelu', 'gelu-tanh', 'silu'):  y = dropout(linear2(dropout(act(linear1(x)))))
 *   gated ('swiglu', 'geglu'; Shazeer 2020):      y = dropout(w2(act(w1(x)) ⊙ w3(x)))
 *                                                 act = SiLU (swiglu) or GELU (geglu)
 *
 * Shapes: x (*, dModel) → (*, dModel); hidden size `dimFeedforward`. State-dict keys:
 * `linear1.*`, `linear2.*` for the plain forms (as torch.nn.TransformerEncoderLayer's), and
 * `w1.weight`, `w2.weight`, `w3.weight` for the gated forms (as LLaMA's reference code, whose
 * linear layers have no bias; `bias: true` adds them).
 *
 * @example
 * const ff = new tn.nn.FeedForward({ dModel: 512, dimFeedforward: 1376, activation: 'swiglu' });
 * const y = ff.forward(tn.randn([4, 16, 512]));   // (4, 16, 512)
 */
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { dropout, gelu } from './functional';
import { Linear } from './linear';
import { Module } from './module';

/** The activations of {@link FeedForward}. */
export type FeedForwardActivation = 'relu' | 'gelu' | 'gelu-tanh' | 'silu' | 'swiglu' | 'geglu';

/** Options of {@link FeedForward}. */
export interface FeedForwardOptions {
  /** Model dimension (input and output). */
  dModel: number;
  /** Hidden size (default 4 · dModel). */
  dimFeedforward?: number;
  /** Default 'gelu'. */
  activation?: FeedForwardActivation;
  /** Dropout on the hidden activations and the output, training mode only (default 0). */
  dropout?: number;
  /** Biases in the linear layers (default: true for the plain forms, false for the gated ones). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

const ACTIVATIONS: readonly FeedForwardActivation[] = ['relu', 'gelu', 'gelu-tanh', 'silu', 'swiglu', 'geglu'];

function act(kind: FeedForwardActivation, h: Tensor): Tensor {
  switch (kind) {
    case 'relu':
      return h.relu();
    case 'gelu':
    case 'geglu':
      return gelu(h);
    case 'gelu-tanh':
      return gelu(h, 'tanh');
    default:
      return h.silu();
  }
}

/** A transformer feed-forward block; see the module documentation. */
export class FeedForward extends Module {
  readonly dModel: number;
  readonly dimFeedforward: number;
  readonly activation: FeedForwardActivation;
  readonly p: number;
  readonly gated: boolean;

  constructor(opts: FeedForwardOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('FeedForward', 'options { dModel, dimFeedforward, activation }', opts);
    this.dModel = checkInt('FeedForward: dModel', opts.dModel, 1);
    this.dimFeedforward = checkInt('FeedForward: dimFeedforward', opts.dimFeedforward ?? 4 * this.dModel, 1);
    const a = opts.activation ?? 'gelu';
    if (!ACTIVATIONS.includes(a)) typeError('FeedForward: activation', ACTIVATIONS.map((x) => `'${x}'`).join(', '), a);
    this.activation = a;
    this.gated = a === 'swiglu' || a === 'geglu';
    this.p = checkNumber('FeedForward: dropout', opts.dropout ?? 0);
    if (!(this.p >= 0 && this.p <= 1)) throw new RangeError(`FeedForward: dropout: expected a probability in [0, 1], but got ${this.p}`);
    const bias = checkBool('FeedForward: bias', opts.bias ?? !this.gated);
    const o = { bias, dtype: opts.dtype, device: opts.device };
    const [D, H] = [this.dModel, this.dimFeedforward];
    if (this.gated) {
      this.registerModule('w1', new Linear(D, H, o));
      this.registerModule('w2', new Linear(H, D, o));
      this.registerModule('w3', new Linear(D, H, o));
    } else {
      this.registerModule('linear1', new Linear(D, H, o));
      this.registerModule('linear2', new Linear(H, D, o));
    }
  }

  /** The block; see the module documentation. */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) typeError('FeedForward.forward', 'a Tensor', x);
    const m = this as unknown as Record<string, Linear>;
    return tidy(() => {
      const h = this.gated ? act(this.activation, m.w1.forward(x)).mul(m.w3.forward(x)) : act(this.activation, m.linear1.forward(x));
      const out = (this.gated ? m.w2 : m.linear2).forward(dropout(h, this.p, this.training));
      return dropout(out, this.p, this.training);
    });
  }

  override extraRepr(): string {
    return `d_model=${this.dModel}, dim_feedforward=${this.dimFeedforward}, activation='${this.activation}'`;
  }
}
