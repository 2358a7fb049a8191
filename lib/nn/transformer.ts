/**
 * Transformer: the encoder–decoder model of Vaswani et al., as torch.nn.Transformer.
 *
 *   memory = encoder(src);   y = decoder(tgt, memory)
 *
 * with `numEncoderLayers` encoder layers and `numDecoderLayers` decoder layers, each stack
 * ending with a LayerNorm. Matrices are initialised Xavier-uniform (±√(6 / (fanIn + fanOut))),
 * as PyTorch's `_reset_parameters`. Shapes: src (S, N, E), tgt (T, N, E), or (N, S, E) /
 * (N, T, E) with `batchFirst` → like tgt. No embeddings or output projection (as PyTorch).
 * State-dict keys are PyTorch's: `encoder.layers.<i>.…`, `encoder.norm.*`,
 * `decoder.layers.<i>.…`, `decoder.norm.*`.
 *
 * @example
 * const model = new tn.nn.Transformer({ dModel: 256, nhead: 8, numEncoderLayers: 3, numDecoderLayers: 3, batchFirst: true });
 * const y = model.forward(src, tgt, { tgtIsCausal: true });
 */
import { noGrad } from '../autograd';
import { checkInt } from '../errors';
import { tidy } from '../memory';
import type { Tensor } from '../tensor';
import { LayerNorm } from './layer_norm';
import { Module } from './module';
import { TransformerDecoder } from './transformer_decoder';
import { TransformerDecoderLayer } from './transformer_decoder_layer';
import { TransformerEncoder } from './transformer_encoder';
import { TransformerEncoderLayer, transformerLayerOptions } from './transformer_encoder_layer';
import type { TransformerLayerOptions } from './transformer_encoder_layer';

/** Options of {@link Transformer}, as torch's arguments in camelCase. */
export interface TransformerOptions extends Partial<Pick<TransformerLayerOptions, 'dModel' | 'nhead'>>, Omit<TransformerLayerOptions, 'dModel' | 'nhead'> {
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
}

/** Options of {@link Transformer.forward}, as torch's arguments in camelCase. */
export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention in the encoder. */
  srcIsCausal?: boolean;
  /** Causal self-attention in the decoder (what sequence-to-sequence training needs). */
  tgtIsCausal?: boolean;
}

/** The encoder–decoder transformer; see the module documentation. */
export class Transformer extends Module {
  declare encoder: TransformerEncoder;
  declare decoder: TransformerDecoder;

  constructor(opts: TransformerOptions = {}) {
    super();
    const o = transformerLayerOptions('Transformer', { ...opts, dModel: opts.dModel ?? 512, nhead: opts.nhead ?? 8 });
    const ne = checkInt('Transformer: numEncoderLayers', opts.numEncoderLayers ?? 6, 1);
    const nd = checkInt('Transformer: numDecoderLayers', opts.numDecoderLayers ?? 6, 1);
    const norm = (): LayerNorm => new LayerNorm([o.dModel], { eps: o.layerNormEps, bias: o.bias, dtype: o.dtype, device: o.device });
    this.registerModule('encoder', new TransformerEncoder(new TransformerEncoderLayer(o), ne, { norm: norm() }));
    this.registerModule('decoder', new TransformerDecoder(new TransformerDecoderLayer(o), nd, { norm: norm() }));
    // Xavier-uniform for every matrix, as torch.nn.Transformer._reset_parameters.
    noGrad(() => {
      for (const p of this.parameters()) {
        const s = p.shape;
        if (s.length < 2) continue;
        const receptive = s.slice(2).reduce((a, b) => a * b, 1);
        const bound = Math.sqrt(6 / (s[1] * receptive + s[0] * receptive));
        p.uniform_(-bound, bound);
      }
    });
  }

  /** decoder(tgt, encoder(src)). */
  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    return tidy(() => {
      const memory = this.encoder.forward(src, { srcMask: opts.srcMask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.srcIsCausal });
      return this.decoder.forward(tgt, memory, {
        tgtMask: opts.tgtMask, memoryMask: opts.memoryMask, tgtKeyPaddingMask: opts.tgtKeyPaddingMask,
        memoryKeyPaddingMask: opts.memoryKeyPaddingMask, tgtIsCausal: opts.tgtIsCausal,
      });
    });
  }
}
