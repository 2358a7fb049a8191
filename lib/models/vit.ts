/**
 * ViT: the Vision Transformer (Dosovitskiy et al., 2020) in torchvision's layout.
 *
 *   patches = conv_proj(x)                       (N, D, H/p, W/p) → (N, S, D), S = (H/p)·(W/p)
 *   z = [class_token; patches] + pos_embedding   (N, S + 1, D), then dropout
 *   each layer: z = z + drop(MHA(ln_1(z)));  z = z + mlp(ln_2(z))      (pre-norm, GELU MLP)
 *   logits = heads.head(encoder.ln(z)[:, 0])
 *
 * State-dict keys are torchvision's VisionTransformer (`conv_proj.*`, `class_token`,
 * `encoder.pos_embedding`, `encoder.layers.encoder_layer_{i}.{ln_1, self_attention, ln_2,
 * mlp.0, mlp.3}`, `encoder.ln.*`, `heads.head.*`), so torchvision checkpoints load (layer norms
 * use its eps 1e-6). `inChannels` (torchvision: always 3) lets the same model read greyscale.
 *
 * @example
 * const vit = new tn.models.ViT({ imageSize: 28, patchSize: 7, numLayers: 4, numHeads: 4, hiddenDim: 64, mlpDim: 128, numClasses: 10, inChannels: 1 });
 * const logits = vit.forward(images);   // images (N, 1, 28, 28) → (N, 10)
 */
import { zeros } from '../creation';
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { cat } from '../ops/shape';
import { Conv2d } from '../nn/conv2d';
import { Dropout } from '../nn/dropout';
import { gelu } from '../nn/functional';
import { LayerNorm } from '../nn/layer_norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { MultiheadAttention } from '../nn/multihead_attention';
import { Tensor } from '../tensor';
import { noGrad } from '../autograd';

/** Options of {@link ViT} (torchvision's VisionTransformer arguments in camelCase). */
export interface ViTOptions {
  imageSize: number;
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
  /** Default 1000. */
  numClasses?: number;
  /** Image channels (default 3). */
  inChannels?: number;
  /** Dropout after embeddings, attention and MLP layers (training only; default 0). */
  dropout?: number;
  /** Dropout on attention weights (default 0). */
  attentionDropout?: number;
  dtype?: DType;
  device?: Device;
}

type Resolved = Required<Omit<ViTOptions, 'dtype' | 'device'>>;
type Placement = { dtype?: DType; device?: Device };

/** torchvision's MLPBlock: Linear (0), GELU (1), Dropout (2), Linear (3), Dropout (4). */
class MLPBlock extends Module {
  declare dropout: Dropout;
  constructor(c: Resolved, o: Placement) {
    super();
    this.registerModule('0', new Linear(c.hiddenDim, c.mlpDim, o));
    this.registerModule('3', new Linear(c.mlpDim, c.hiddenDim, o));
    this.registerModule('dropout', new Dropout(c.dropout));
    // torchvision registers the dropouts as children 2 and 4 without parameters; one
    // unregistered-by-key instance serves both (no state-dict entries either way).
  }

  forward(x: Tensor): Tensor {
    const l0 = (this as unknown as Record<string, Linear>)['0'];
    const l3 = (this as unknown as Record<string, Linear>)['3'];
    return this.dropout.forward(l3.forward(this.dropout.forward(gelu(l0.forward(x)))));
  }
}

/** torchvision's EncoderBlock (pre-norm). */
class EncoderBlock extends Module {
  declare ln_1: LayerNorm;
  declare self_attention: MultiheadAttention;
  declare dropout: Dropout;
  declare ln_2: LayerNorm;
  declare mlp: MLPBlock;
  constructor(c: Resolved, o: Placement) {
    super();
    this.registerModule('ln_1', new LayerNorm(c.hiddenDim, { eps: 1e-6, ...o }));
    this.registerModule('self_attention', new MultiheadAttention({ embedDim: c.hiddenDim, numHeads: c.numHeads, dropout: c.attentionDropout, batchFirst: true, ...o }));
    this.registerModule('dropout', new Dropout(c.dropout));
    this.registerModule('ln_2', new LayerNorm(c.hiddenDim, { eps: 1e-6, ...o }));
    this.registerModule('mlp', new MLPBlock(c, o));
  }

  forward(x: Tensor): Tensor {
    const h = this.ln_1.forward(x);
    x = x.add(this.dropout.forward(this.self_attention.forward(h, h, h, { needWeights: false }).output));
    return x.add(this.mlp.forward(this.ln_2.forward(x)));
  }
}

/** The named stack of blocks (`encoder.layers.encoder_layer_{i}`). */
class EncoderLayers extends Module {
  forward(): never {
    throw new Error('ViT encoder layers have no forward(): the Encoder runs them');
  }
}

/** torchvision's Encoder: position embedding, dropout, layers, final norm. */
class Encoder extends Module {
  declare pos_embedding: Tensor;
  declare dropout: Dropout;
  declare layers: EncoderLayers;
  declare ln: LayerNorm;
  constructor(c: Resolved, seqLength: number, o: Placement) {
    super();
    const pos = zeros([1, seqLength, c.hiddenDim], o);
    noGrad(() => pos.normal_(0, 0.02));
    this.registerParameter('pos_embedding', pos);
    this.registerModule('dropout', new Dropout(c.dropout));
    const layers = new EncoderLayers();
    this.registerModule('layers', layers);
    // torchvision names the layers encoder_layer_0, encoder_layer_1, … (an OrderedDict).
    for (let i = 0; i < c.numLayers; i++) layers.registerModule(`encoder_layer_${i}`, new EncoderBlock(c, o));
    this.registerModule('ln', new LayerNorm(c.hiddenDim, { eps: 1e-6, ...o }));
  }

  forward(x: Tensor): Tensor {
    x = this.dropout.forward(x.add(this.pos_embedding));
    for (const layer of this.layers.children() as EncoderBlock[]) x = layer.forward(x);
    return this.ln.forward(x);
  }
}

/** The classification head container (`heads.head`). */
class Heads extends Module {
  declare head: Linear;
  forward(x: Tensor): Tensor {
    return this.head.forward(x);
  }
}

/** A Vision Transformer classifier; see the module documentation. */
export class ViT extends Module {
  declare class_token: Tensor;
  declare conv_proj: Conv2d;
  declare encoder: Encoder;
  declare heads: Heads;
  readonly config: Readonly<Resolved>;

  constructor(opts: ViTOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('ViT', 'options { imageSize, patchSize, numLayers, numHeads, hiddenDim, mlpDim }', opts);
    const c: Resolved = {
      imageSize: checkInt('ViT: imageSize', opts.imageSize, 1),
      patchSize: checkInt('ViT: patchSize', opts.patchSize, 1),
      numLayers: checkInt('ViT: numLayers', opts.numLayers, 1),
      numHeads: checkInt('ViT: numHeads', opts.numHeads, 1),
      hiddenDim: checkInt('ViT: hiddenDim', opts.hiddenDim, 1),
      mlpDim: checkInt('ViT: mlpDim', opts.mlpDim, 1),
      numClasses: checkInt('ViT: numClasses', opts.numClasses ?? 1000, 1),
      inChannels: checkInt('ViT: inChannels', opts.inChannels ?? 3, 1),
      dropout: checkNumber('ViT: dropout', opts.dropout ?? 0),
      attentionDropout: checkNumber('ViT: attentionDropout', opts.attentionDropout ?? 0),
    };
    if (c.imageSize % c.patchSize !== 0) throw new RangeError(`ViT: expected imageSize divisible by patchSize, but got imageSize ${c.imageSize} and patchSize ${c.patchSize}`);
    if (c.hiddenDim % c.numHeads !== 0) throw new RangeError(`ViT: expected hiddenDim divisible by numHeads, but got hiddenDim ${c.hiddenDim} and numHeads ${c.numHeads}`);
    this.config = c;
    const o = { dtype: opts.dtype, device: opts.device };
    const seqLength = (c.imageSize / c.patchSize) ** 2 + 1;
    this.registerParameter('class_token', zeros([1, 1, c.hiddenDim], o));
    this.registerModule('conv_proj', new Conv2d(c.inChannels, c.hiddenDim, c.patchSize, { stride: c.patchSize, ...o }));
    this.registerModule('encoder', new Encoder(c, seqLength, o));
    const heads = new Heads();
    heads.registerModule('head', new Linear(c.hiddenDim, c.numClasses, o));
    this.registerModule('heads', heads);
  }

  /** Logits (N, numClasses) of images (N, inChannels, imageSize, imageSize). */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor)) typeError('ViT.forward', 'a Tensor (N, C, H, W)', x);
    const { imageSize: S, inChannels: C } = this.config;
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== S || x.shape[3] !== S) {
      throw new RangeError(`ViT.forward: expected images of shape (N, ${C}, ${S}, ${S}), but got [${x.shape.join(', ')}]`);
    }
    return tidy(() => {
      const N = x.shape[0];
      const p = this.conv_proj.forward(x); // (N, D, h, w)
      const tokens = p.reshape(N, this.config.hiddenDim, -1).permute(0, 2, 1);
      const z = cat([this.class_token.expand(N, -1, -1), tokens], 1);
      return this.heads.forward(this.encoder.forward(z).select(1, 0));
    });
  }
}
