/**
 * TransformerEncoderLayer: self-attention and a feed-forward block, each with a residual
 * connection and layer normalisation, as torch.nn.TransformerEncoderLayer (Vaswani et al.).
 *
 *   post-norm (default):  x = norm1(x + SA(x));         x = norm2(x + FF(x))
 *   pre-norm (normFirst): x = x + SA(norm1(x));         x = x + FF(norm2(x))
 *   SA(x) = dropout1(selfAttn(x, x, x)),  FF(x) = dropout2(linear2(dropout(act(linear1(x)))))
 *
 * Shapes: src (S, N, E), or (N, S, E) with `batchFirst`, or unbatched (S, E) → same shape.
 * Parameters and state-dict keys are PyTorch's: `self_attn.{in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias}`, `linear1.*` (dimFeedforward, E), `linear2.*`
 * (E, dimFeedforward), `norm1.*`, `norm2.*`.
 *
 * @example
 * const layer = new tn.nn.TransformerEncoderLayer({ dModel: 256, nhead: 8, dimFeedforward: 1024, batchFirst: true, normFirst: true });
 * const y = layer.forward(tn.randn([4, 128, 256]), { isCausal: true });   // (4, 128, 256)
 */
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Dropout } from './dropout';
import { gelu } from './functional';
import { LayerNorm } from './layer_norm';
import { Linear } from './linear';
import { Module } from './module';
import { MultiheadAttention } from './multihead_attention';

/** Options shared by the encoder and decoder layers, as torch's arguments in camelCase. */
export interface TransformerLayerOptions {
  /** Model dimension E. */
  dModel: number;
  /** Number of attention heads. */
  nhead: number;
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout probability, applied in training mode only (default 0.1). */
  dropout?: number;
  /** Activation of the feed-forward block: 'relu' (default) or 'gelu'. */
  activation?: 'relu' | 'gelu';
  /** eps of the layer norms (default 1e-5). */
  layerNormEps?: number;
  /** Inputs are (N, S, E) rather than (S, N, E) (default false, as PyTorch). */
  batchFirst?: boolean;
  /** Pre-norm: normalise before attention and feed-forward (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers and layer norms (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

/** The checked options, with defaults filled in. */
export type ResolvedTransformerLayerOptions = Required<Omit<TransformerLayerOptions, 'dtype' | 'device'>> & Pick<TransformerLayerOptions, 'dtype' | 'device'>;

/** Checks the options of a transformer layer. */
export function transformerLayerOptions(where: string, o: TransformerLayerOptions): ResolvedTransformerLayerOptions {
  if (o === null || typeof o !== 'object') typeError(where, 'options { dModel, nhead, ... }', o);
  const activation = o.activation ?? 'relu';
  if (activation !== 'relu' && activation !== 'gelu') typeError(`${where}: activation`, "'relu' or 'gelu'", activation);
  const dropout = checkNumber(`${where}: dropout`, o.dropout ?? 0.1);
  if (!(dropout >= 0 && dropout <= 1)) throw new RangeError(`${where}: dropout: expected a probability in [0, 1], but got ${dropout}`);
  return {
    dModel: checkInt(`${where}: dModel`, o.dModel, 1),
    nhead: checkInt(`${where}: nhead`, o.nhead, 1),
    dimFeedforward: checkInt(`${where}: dimFeedforward`, o.dimFeedforward ?? 2048, 1),
    dropout,
    activation,
    layerNormEps: checkNumber(`${where}: layerNormEps`, o.layerNormEps ?? 1e-5),
    batchFirst: checkBool(`${where}: batchFirst`, o.batchFirst ?? false),
    normFirst: checkBool(`${where}: normFirst`, o.normFirst ?? false),
    bias: checkBool(`${where}: bias`, o.bias ?? true),
    dtype: o.dtype,
    device: o.device,
  };
}

/** Options of {@link TransformerEncoderLayer.forward}, as torch's arguments in camelCase. */
export interface TransformerEncoderLayerForwardOptions {
  /** (S, S) or (N·H, S, S): bool (true = NOT allowed) or float (added), as MultiheadAttention. */
  srcMask?: Tensor | null;
  /** (N, S): bool, true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (on top of srcMask). Default false. */
  isCausal?: boolean;
}

/** One encoder layer; see the module documentation. */
export class TransformerEncoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  readonly options: ResolvedTransformerLayerOptions;

  constructor(opts: TransformerLayerOptions) {
    super();
    const o = (this.options = transformerLayerOptions('TransformerEncoderLayer', opts));
    const t = { dtype: o.dtype, device: o.device };
    // Registration order = PyTorch's attribute order = state-dict key order.
    this.registerModule('self_attn', new MultiheadAttention({ embedDim: o.dModel, numHeads: o.nhead, dropout: o.dropout, bias: o.bias, batchFirst: o.batchFirst, ...t }));
    this.registerModule('linear1', new Linear(o.dModel, o.dimFeedforward, { bias: o.bias, ...t }));
    this.registerModule('dropout', new Dropout({ p: o.dropout }));
    this.registerModule('linear2', new Linear(o.dimFeedforward, o.dModel, { bias: o.bias, ...t }));
    this.registerModule('norm1', new LayerNorm([o.dModel], { eps: o.layerNormEps, bias: o.bias, ...t }));
    this.registerModule('norm2', new LayerNorm([o.dModel], { eps: o.layerNormEps, bias: o.bias, ...t }));
    this.registerModule('dropout1', new Dropout({ p: o.dropout }));
    this.registerModule('dropout2', new Dropout({ p: o.dropout }));
  }

  /** The layer; see the module documentation. */
  forward(src: Tensor, opts: TransformerEncoderLayerForwardOptions = {}): Tensor {
    if (!(src instanceof Tensor)) typeError('TransformerEncoderLayer.forward: src', 'a Tensor', src);
    const sa = (x: Tensor): Tensor =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, { attnMask: opts.srcMask, keyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal ?? false, needWeights: false }).output,
      );
    return tidy(() => {
      let x = src;
      if (this.options.normFirst) {
        x = x.add(sa(this.norm1.forward(x)));
        x = x.add(feedForward(this, this.norm2.forward(x)));
      } else {
        x = this.norm1.forward(x.add(sa(x)));
        x = this.norm2.forward(x.add(feedForward(this, x)));
      }
      return x;
    });
  }
}

/** dropout2(linear2(dropout(act(linear1(x))))) of an encoder layer; dropout3 of a decoder layer. */
export function feedForward(
  layer: { linear1: Linear; linear2: Linear; dropout: Dropout; options: ResolvedTransformerLayerOptions } & ({ dropout2: Dropout } | { dropout3: Dropout }),
  x: Tensor,
): Tensor {
  const h = layer.linear1.forward(x);
  const a = layer.options.activation === 'gelu' ? gelu(h) : h.relu();
  const out = layer.linear2.forward(layer.dropout.forward(a));
  return ('dropout3' in layer ? layer.dropout3 : layer.dropout2).forward(out);
}
