/**
 * TransformerDecoder: a stack of N decoder layers and an optional final norm, as
 * torch.nn.TransformerDecoder.
 *
 *   x = layers[N−1](… layers[0](tgt, memory) …, memory);   y = norm ? norm(x) : x
 *
 * The N layers start identical, as PyTorch's deep copies (the given layer is layer 0).
 * Shapes as {@link TransformerDecoderLayer}. State-dict keys: `layers.<i>.…`, `norm.*`.
 *
 * @example
 * const layer = new tn.nn.TransformerDecoderLayer({ dModel: 256, nhead: 8, batchFirst: true });
 * const decoder = new tn.nn.TransformerDecoder(layer, 6);
 * const y = decoder.forward(tgt, memory, { tgtIsCausal: true });
 */
import { checkInt, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Module } from './module';
import { ModuleList } from './module_list';
import { TransformerDecoderLayer } from './transformer_decoder_layer';
import type { TransformerDecoderLayerForwardOptions } from './transformer_decoder_layer';
import { cloneLayers } from './transformer_encoder';
import type { TransformerEncoderOptions } from './transformer_encoder';

/** A stack of decoder layers; see the module documentation. */
export class TransformerDecoder extends Module {
  declare layers: ModuleList<TransformerDecoderLayer>;
  declare norm: Module | null;
  readonly numLayers: number;

  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, opts: TransformerEncoderOptions = {}) {
    super();
    if (!(decoderLayer instanceof TransformerDecoderLayer)) typeError('TransformerDecoder: decoderLayer', 'a TransformerDecoderLayer', decoderLayer);
    this.numLayers = checkInt('TransformerDecoder: numLayers', numLayers, 1);
    if (opts.norm != null && !(opts.norm instanceof Module)) typeError('TransformerDecoder: norm', 'a Module', opts.norm);
    const layers = cloneLayers('TransformerDecoder', decoderLayer, numLayers, () => new TransformerDecoderLayer(decoderLayer.options));
    this.registerModule('layers', new ModuleList(layers));
    this.registerModule('norm', opts.norm ?? null);
  }

  /** Runs the layers in order over `memory`, then the norm. */
  forward(tgt: Tensor, memory: Tensor, opts: TransformerDecoderLayerForwardOptions = {}): Tensor {
    if (!(tgt instanceof Tensor)) typeError('TransformerDecoder.forward: tgt', 'a Tensor', tgt);
    return tidy(() => {
      let x = tgt;
      for (const l of this.layers) x = l.forward(x, memory, opts);
      return this.norm ? (this.norm.forward(x) as Tensor) : x;
    });
  }
}
