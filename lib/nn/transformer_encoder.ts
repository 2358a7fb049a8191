/**
 * TransformerEncoder: a stack of N encoder layers and an optional final norm, as
 * torch.nn.TransformerEncoder.
 *
 *   x = layers[N−1](… layers[0](src));   y = norm ? norm(x) : x
 *
 * Like PyTorch, which deep-copies its `encoder_layer` argument N times, the N layers start
 * identical: copies of the given layer (the given layer itself is layer 0). Shapes as
 * {@link TransformerEncoderLayer}. State-dict keys: `layers.<i>.…`, `norm.weight`, `norm.bias`.
 *
 * @example
 * const layer = new tn.nn.TransformerEncoderLayer({ dModel: 256, nhead: 8, batchFirst: true, normFirst: true });
 * const encoder = new tn.nn.TransformerEncoder(layer, 6, { norm: new tn.nn.LayerNorm([256]) });
 * const y = encoder.forward(tn.randn([4, 128, 256]), { isCausal: true });
 */
import { noGrad } from '../autograd';
import { checkInt, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Module } from './module';
import { ModuleList } from './module_list';
import { TransformerEncoderLayer } from './transformer_encoder_layer';
import type { TransformerEncoderLayerForwardOptions } from './transformer_encoder_layer';

/** Options of {@link TransformerEncoder}. */
export interface TransformerEncoderOptions {
  /** Applied to the last layer's output (pre-norm stacks need one). */
  norm?: Module | null;
}

/** N copies of `layer` (`layer` first), each starting with its parameters. */
export function cloneLayers<L extends Module>(where: string, layer: L, n: number, make: () => L): L[] {
  const out = [layer];
  const sd = layer.stateDict();
  try {
    for (let i = 1; i < n; i++) {
      const copy = make();
      noGrad(() => copy.loadStateDict(sd));
      copy.train(layer.training);
      out.push(copy);
    }
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
  return out;
}

/** A stack of encoder layers; see the module documentation. */
export class TransformerEncoder extends Module {
  declare layers: ModuleList<TransformerEncoderLayer>;
  declare norm: Module | null;
  readonly numLayers: number;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, opts: TransformerEncoderOptions = {}) {
    super();
    if (!(encoderLayer instanceof TransformerEncoderLayer)) typeError('TransformerEncoder: encoderLayer', 'a TransformerEncoderLayer', encoderLayer);
    this.numLayers = checkInt('TransformerEncoder: numLayers', numLayers, 1);
    if (opts.norm != null && !(opts.norm instanceof Module)) typeError('TransformerEncoder: norm', 'a Module', opts.norm);
    const layers = cloneLayers('TransformerEncoder', encoderLayer, numLayers, () => new TransformerEncoderLayer(encoderLayer.options));
    this.registerModule('layers', new ModuleList(layers));
    this.registerModule('norm', opts.norm ?? null);
  }

  /** Runs the layers in order, then the norm. */
  forward(src: Tensor, opts: TransformerEncoderLayerForwardOptions = {}): Tensor {
    if (!(src instanceof Tensor)) typeError('TransformerEncoder.forward: src', 'a Tensor', src);
    return tidy(() => {
      let x = src;
      for (const l of this.layers) x = l.forward(x, opts);
      return this.norm ? (this.norm.forward(x) as Tensor) : x;
    });
  }
}

