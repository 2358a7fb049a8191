/**
 * TransformerDecoderLayer: self-attention, cross-attention over the encoder's output
 * (memory) and a feed-forward block, each with a residual connection and layer
 * normalisation, as torch.nn.TransformerDecoderLayer.
 *
 *   post-norm (default):  x = norm1(x + SA(x));  x = norm2(x + CA(x, mem));  x = norm3(x + FF(x))
 *   pre-norm (normFirst): x = x + SA(norm1(x));  x = x + CA(norm2(x), mem);  x = x + FF(norm3(x))
 *
 * Shapes: tgt (T, N, E), memory (S, N, E), or (N, T, E) / (N, S, E) with `batchFirst` →
 * like tgt. State-dict keys are PyTorch's: `self_attn.*`, `multihead_attn.*`, `linear1.*`,
 * `linear2.*`, `norm1.*`, `norm2.*`, `norm3.*`.
 *
 * @example
 * const layer = new tn.nn.TransformerDecoderLayer({ dModel: 256, nhead: 8, batchFirst: true });
 * const y = layer.forward(tgt, memory, { tgtIsCausal: true });
 */
import { typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Dropout } from './dropout';
import { LayerNorm } from './layer_norm';
import { Linear } from './linear';
import { Module } from './module';
import { MultiheadAttention } from './multihead_attention';
import { feedForward, transformerLayerOptions } from './transformer_encoder_layer';
import type { ResolvedTransformerLayerOptions, TransformerLayerOptions } from './transformer_encoder_layer';

/** Options of {@link TransformerDecoderLayer.forward}, as torch's arguments in camelCase. */
export interface TransformerDecoderLayerForwardOptions {
  /** (T, T) mask of the self-attention: bool (true = NOT allowed) or float (added). */
  tgtMask?: Tensor | null;
  /** (T, S) mask of the cross-attention. */
  memoryMask?: Tensor | null;
  /** (N, T): bool, true = padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** (N, S): bool, true = padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (on top of tgtMask). Default false. */
  tgtIsCausal?: boolean;
  /** Causal cross-attention (bottom-right aligned). Default false. */
  memoryIsCausal?: boolean;
}

/** One decoder layer; see the module documentation. */
export class TransformerDecoderLayer extends Module {
  declare self_attn: MultiheadAttention;
  declare multihead_attn: MultiheadAttention;
  declare linear1: Linear;
  declare dropout: Dropout;
  declare linear2: Linear;
  declare norm1: LayerNorm;
  declare norm2: LayerNorm;
  declare norm3: LayerNorm;
  declare dropout1: Dropout;
  declare dropout2: Dropout;
  declare dropout3: Dropout;
  readonly options: ResolvedTransformerLayerOptions;

  constructor(opts: TransformerLayerOptions) {
    super();
    const o = (this.options = transformerLayerOptions('TransformerDecoderLayer', opts));
    const t = { dtype: o.dtype, device: o.device };
    const mha = (): MultiheadAttention => new MultiheadAttention({ embedDim: o.dModel, numHeads: o.nhead, dropout: o.dropout, bias: o.bias, batchFirst: o.batchFirst, ...t });
    this.registerModule('self_attn', mha());
    this.registerModule('multihead_attn', mha());
    this.registerModule('linear1', new Linear(o.dModel, o.dimFeedforward, { bias: o.bias, ...t }));
    this.registerModule('dropout', new Dropout({ p: o.dropout }));
    this.registerModule('linear2', new Linear(o.dimFeedforward, o.dModel, { bias: o.bias, ...t }));
    for (const n of ['norm1', 'norm2', 'norm3']) this.registerModule(n, new LayerNorm([o.dModel], { eps: o.layerNormEps, bias: o.bias, ...t }));
    for (const n of ['dropout1', 'dropout2', 'dropout3']) this.registerModule(n, new Dropout({ p: o.dropout }));
  }

  /** The layer; see the module documentation. */
  forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderLayerForwardOptions = {}): Tensor {
    if (!(tgt instanceof Tensor)) typeError('TransformerDecoderLayer.forward: tgt', 'a Tensor', tgt);
    if (!(memory instanceof Tensor)) typeError('TransformerDecoderLayer.forward: memory', 'a Tensor', memory);
    const sa = (x: Tensor): Tensor =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, { attnMask: opts.tgtMask, keyPaddingMask: opts.tgtKeyPaddingMask, isCausal: opts.tgtIsCausal ?? false, needWeights: false }).output,
      );
    const ca = (x: Tensor): Tensor =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, {
          attnMask: opts.memoryMask, keyPaddingMask: opts.memoryKeyPaddingMask, isCausal: opts.memoryIsCausal ?? false, needWeights: false,
        }).output,
      );
    return tidy(() => {
      let x = tgt;
      if (this.options.normFirst) {
        x = x.add(sa(this.norm1.forward(x)));
        x = x.add(ca(this.norm2.forward(x)));
        x = x.add(feedForward(this, this.norm3.forward(x)));
      } else {
        x = this.norm1.forward(x.add(sa(x)));
        x = this.norm2.forward(x.add(ca(x)));
        x = this.norm3.forward(x.add(feedForward(this, x)));
      }
      return x;
    });
  }
}
