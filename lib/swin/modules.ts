/**
 * Swin Transformer modules (tn.swin), with the module tree, and so the state-dict keys, of
 * microsoft/Swin-Transformer `models/swin_transformer.py`:
 *
 *   patch_embed.proj.{weight,bias}, patch_embed.norm.{weight,bias}, [absolute_pos_embed],
 *   layers.i.blocks.j.{attn_mask, norm1.*, attn.relative_position_bias_table,
 *   attn.relative_position_index, attn.qkv.*, attn.proj.*, norm2.*, mlp.fc1.*, mlp.fc2.*},
 *   layers.i.downsample.{reduction.weight, norm.*}, norm.*, head.*
 *
 * `relative_position_index` and `attn_mask` are persistent buffers as in the official code
 * (attn_mask only in shifted blocks). Blocks take (B, H·W, C); the model takes NCHW images.
 * The blocks run the fused ops: {@link rollAndWindowPartition}, {@link windowAttention},
 * {@link windowMergeAndRoll}, {@link patchMerge}.
 *
 * @example
 * const model = tn.swin.swinT({ numClasses: 1000 }).eval();
 * model.loadStateDict(tn.loadSafetensors('swin_tiny_patch4_window7_224.safetensors'));
 * const logits = tn.inferenceMode(() => model.forward(images));   // images (B, 3, 224, 224)
 */
import { noGrad } from '../autograd';
import { arange, empty, full, zeros, zerosLike } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../errors';
import { tidy } from '../memory';
import { Tensor } from '../tensor';
import { Conv2d } from '../nn/conv2d';
import { Dropout } from '../nn/dropout';
import { dropout, linear, softmax } from '../nn/functional';
import { GELU } from '../nn/gelu';
import { LayerNorm } from '../nn/layer_norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import type { LoadStateDictResult } from '../nn/module';
import { ModuleList } from '../nn/module_list';
import { ReLU } from '../nn/relu';
import { Sequential } from '../nn/sequential';
import { cat, stack } from '../ops/shape';
import { patchMerge, relativePositionIndex, rollAndWindowPartition, shiftedWindowMask, stageWindow, windowMergeAndRoll, padToWindow } from './window';
import { windowAttention } from './window_attention';

const shapeStr = (t: Tensor): string => `[${t.shape.join(', ')}]`;

function checkRate(where: string, p: unknown): number {
  const r = checkNumber(where, p ?? 0);
  if (!(r >= 0 && r < 1)) throw new RangeError(`${where}: expected a rate in [0, 1), but got ${r}`);
  return r;
}

function resolutionArg(where: string, r: unknown): [number, number] {
  const p = typeof r === 'number' ? [r, r] : r;
  if (!Array.isArray(p) || p.length !== 2) typeError(where, 'an integer or [H, W]', r);
  return [checkInt(where, p[0], 1), checkInt(where, p[1], 1)];
}

/** Linear weights trunc_normal(std 0.02) and zero bias, as the official `_init_weights`. */
function initLinear(l: Linear): Linear {
  noGrad(() => {
    l.weight.normal_(0, 0.02).clamp_(-2, 2);
    if (l.bias) l.bias.zero_();
  });
  return l;
}

/**
 * Stochastic depth per sample (the official `DropPath`): in training, each sample's residual
 * branch is zeroed with probability p and the kept ones scaled by 1 / (1 − p); the identity
 * in evaluation mode or with p = 0.
 */
export class DropPath extends Module {
  readonly p: number;
  constructor(p = 0) {
    super();
    this.p = checkRate('DropPath: p', p);
  }

  forward(x: Tensor): Tensor {
    if (this.p === 0 || !this.training) return x;
    return tidy(() => {
      const keepProb = 1 - this.p;
      const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
      // The official floor(keepProb + U[0, 1)) mask, already divided by keepProb: one pass over
      // x (and one in the backward) instead of a division and then a product.
      const mask = noGrad(() => empty(shape, { dtype: x.dtype, device: x.device }).uniform_(0, 1).add(keepProb).floor().div(keepProb));
      return x.mul(mask);
    });
  }

  override extraRepr(): string {
    return `drop_prob=${this.p}`;
  }
}

/** Options of {@link PatchEmbed}. */
export interface PatchEmbedOptions {
  /** Image size, square or [H, W] (default 224). */
  imgSize?: number | [number, number];
  /** Patch size (default 4). */
  patchSize?: number;
  /** Input channels (default 3). */
  inChans?: number;
  /** Embedding dimension (default 96). */
  embedDim?: number;
  /** LayerNorm after the projection (default true). */
  norm?: boolean;
  dtype?: DType;
}

/** Image to patch tokens: Conv2d(k = s = patch) → flatten → (B, L, C) → optional LayerNorm. */
export class PatchEmbed extends Module {
  declare proj: Conv2d;
  declare norm: LayerNorm | null;
  readonly imgSize: [number, number];
  readonly patchSize: number;
  readonly patchesResolution: [number, number];
  readonly embedDim: number;
  readonly inChans: number;

  constructor(opts: PatchEmbedOptions = {}) {
    super();
    this.imgSize = resolutionArg('PatchEmbed: imgSize', opts.imgSize ?? 224);
    this.patchSize = checkInt('PatchEmbed: patchSize', opts.patchSize ?? 4, 1);
    this.inChans = checkInt('PatchEmbed: inChans', opts.inChans ?? 3, 1);
    this.embedDim = checkInt('PatchEmbed: embedDim', opts.embedDim ?? 96, 1);
    const norm = checkBool('PatchEmbed: norm', opts.norm ?? true);
    this.patchesResolution = [Math.floor(this.imgSize[0] / this.patchSize), Math.floor(this.imgSize[1] / this.patchSize)];
    this.registerModule('proj', new Conv2d(this.inChans, this.embedDim, this.patchSize, { stride: this.patchSize, dtype: opts.dtype }));
    this.registerModule('norm', norm ? new LayerNorm(this.embedDim, { dtype: opts.dtype }) : null);
  }

  /** (B, inChans, H, W) with H, W = imgSize → (B, L, embedDim), L = (H/patch)·(W/patch). */
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.inChans || s[2] !== this.imgSize[0] || s[3] !== this.imgSize[1]) {
      throw new RangeError(`PatchEmbed: expected images of shape (B, ${this.inChans}, ${this.imgSize[0]}, ${this.imgSize[1]}), but got shape ${shapeStr(x)}`);
    }
    return tidy(() => {
      const y = this.proj.forward(x).flatten(2).transpose(1, 2);
      return this.norm ? this.norm.forward(y) : y;
    });
  }
}

/** Options of {@link WindowAttention}. */
export interface WindowAttentionModuleOptions {
  dim: number;
  /** Window size (square) or [Wh, Ww]. */
  windowSize: number | [number, number];
  numHeads: number;
  /** Bias in the qkv projection (default true). */
  qkvBias?: boolean;
  /** Override of head_dim^-0.5. */
  qkScale?: number | null;
  /** Dropout on the attention weights (training only; takes the unfused path). */
  attnDrop?: number;
  /** Dropout after the output projection. */
  projDrop?: number;
  dtype?: DType;
}

/**
 * Window multi-head self-attention with relative position bias (the official
 * `WindowAttention`): windows (B·nW, N, C) → (B·nW, N, C).
 */
export class WindowAttention extends Module {
  declare relative_position_bias_table: Tensor;
  declare relative_position_index: Tensor;
  declare qkv: Linear;
  declare attn_drop: Dropout;
  declare proj: Linear;
  declare proj_drop: Dropout;
  readonly dim: number;
  readonly windowSize: [number, number];
  readonly numHeads: number;
  readonly scale: number;

  constructor(opts: WindowAttentionModuleOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('WindowAttention', 'options { dim, windowSize, numHeads }', opts);
    this.dim = checkInt('WindowAttention: dim', opts.dim, 1);
    this.windowSize = resolutionArg('WindowAttention: windowSize', opts.windowSize);
    this.numHeads = checkInt('WindowAttention: numHeads', opts.numHeads, 1);
    if (this.dim % this.numHeads !== 0) throw new RangeError(`WindowAttention: dim (${this.dim}) must be divisible by numHeads (${this.numHeads})`);
    this.scale = opts.qkScale ?? (this.dim / this.numHeads) ** -0.5;
    const [wh, ww] = this.windowSize;
    const o = { dtype: opts.dtype };
    const table = noGrad(() => zeros([(2 * wh - 1) * (2 * ww - 1), this.numHeads], o).normal_(0, 0.02).clamp_(-2, 2));
    this.registerParameter('relative_position_bias_table', table);
    this.registerBuffer('relative_position_index', relativePositionIndex(this.windowSize));
    this.registerModule('qkv', initLinear(new Linear(this.dim, 3 * this.dim, { bias: checkBool('WindowAttention: qkvBias', opts.qkvBias ?? true), ...o })));
    this.registerModule('attn_drop', new Dropout(checkRate('WindowAttention: attnDrop', opts.attnDrop)));
    this.registerModule('proj', initLinear(new Linear(this.dim, this.dim, o)));
    this.registerModule('proj_drop', new Dropout(checkRate('WindowAttention: projDrop', opts.projDrop)));
  }

  /** x (B·nW, N, C) with N = Wh·Ww; mask (nW, N, N) (0 / −100) or none. */
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    const [wh, ww] = this.windowSize;
    const N = wh * ww;
    const s = x.shape;
    if (s.length !== 3 || s[1] !== N || s[2] !== this.dim) {
      throw new RangeError(`WindowAttention: expected windows of shape (B*nW, ${N}, ${this.dim}), but got shape ${shapeStr(x)}`);
    }
    if (mask !== null && (mask.ndim !== 3 || mask.shape[1] !== N || mask.shape[2] !== N || s[0] % mask.shape[0] !== 0)) {
      throw new RangeError(`WindowAttention: expected a mask of shape (nW, ${N}, ${N}) with nW dividing ${s[0]}, but got shape ${shapeStr(mask)}`);
    }
    return tidy(() => {
      const Bw = s[0];
      const nH = this.numHeads;
      const qkv = this.qkv.forward(x).reshape([Bw, N, 3, nH, this.dim / nH]).permute([2, 0, 3, 1, 4]);
      // chunk, not select: the backward of three selects zero-fills and adds three full-size
      // gradients; chunk's backward concatenates once.
      const [q, k, v] = qkv.chunk(3, 0).map((t) => t.squeeze(0));
      let o: Tensor;
      if (this.training && this.attn_drop.p > 0) {
        // Dropout on the weights needs them materialised: the official op order.
        let attn = q.mul(this.scale).matmul(k.transpose(-2, -1));
        const bias = this.relative_position_bias_table.indexSelect(0, this.relative_position_index.view([-1])).view([N, N, nH]).permute([2, 0, 1]);
        attn = attn.add(bias.unsqueeze(0));
        if (mask !== null) {
          const nW = mask.shape[0];
          attn = attn.view([Bw / nW, nW, nH, N, N]).add(mask.unsqueeze(1).unsqueeze(0)).view([-1, nH, N, N]);
        }
        o = dropout(softmax(attn, -1), this.attn_drop.p, true).matmul(v);
      } else {
        o = windowAttention(q, k, v, this.relative_position_bias_table, this.relative_position_index, { mask, scale: this.scale });
      }
      return this.proj_drop.forward(this.proj.forward(o.transpose(1, 2).reshape([Bw, N, this.dim])));
    });
  }

  override extraRepr(): string {
    return `dim=${this.dim}, window_size=(${this.windowSize.join(', ')}), num_heads=${this.numHeads}`;
  }
}

/**
 * Swin V2 window attention (the official `WindowAttention` of swin_transformer_v2.py): scaled
 * cosine attention and a continuous position bias.
 *
 *   attn = cos(q, k) · exp(min(logit_scale, log 100)) + 16·sigmoid(cpb_mlp(coords))[index] + mask
 *
 * cpb_mlp (Linear(2, 512) → ReLU → Linear(512, nH, no bias)) maps the log-spaced relative
 * coordinates `relative_coords_table` to a bias per head; q and v have biases (`q_bias`,
 * `v_bias`), k none. Runs on the fused window-attention kernel: q is normalised and scaled per
 * head beforehand, the bias table is computed once per call.
 */
export class WindowAttentionV2 extends Module {
  declare logit_scale: Tensor;
  declare q_bias: Tensor | null;
  declare v_bias: Tensor | null;
  declare relative_coords_table: Tensor;
  declare relative_position_index: Tensor;
  declare cpb_mlp: Sequential;
  declare qkv: Linear;
  declare attn_drop: Dropout;
  declare proj: Linear;
  declare proj_drop: Dropout;
  readonly dim: number;
  readonly windowSize: [number, number];
  readonly numHeads: number;

  constructor(opts: WindowAttentionModuleOptions & { pretrainedWindowSize?: number | [number, number] }) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('WindowAttentionV2', 'options { dim, windowSize, numHeads }', opts);
    this.dim = checkInt('WindowAttentionV2: dim', opts.dim, 1);
    this.windowSize = resolutionArg('WindowAttentionV2: windowSize', opts.windowSize);
    this.numHeads = checkInt('WindowAttentionV2: numHeads', opts.numHeads, 1);
    if (this.dim % this.numHeads !== 0) throw new RangeError(`WindowAttentionV2: dim (${this.dim}) must be divisible by numHeads (${this.numHeads})`);
    const o = { dtype: opts.dtype };
    const bias = checkBool('WindowAttentionV2: qkvBias', opts.qkvBias ?? true);
    this.registerParameter('logit_scale', noGrad(() => full([this.numHeads, 1, 1], Math.log(10), o)));
    this.registerParameter('q_bias', bias ? zeros([this.dim], o) : null);
    this.registerParameter('v_bias', bias ? zeros([this.dim], o) : null);
    const pre = opts.pretrainedWindowSize === undefined ? ([0, 0] as [number, number]) : resolutionArg('WindowAttentionV2: pretrainedWindowSize', opts.pretrainedWindowSize);
    this.registerBuffer('relative_coords_table', relativeCoordsTable(this.windowSize, pre, opts.dtype ?? 'float32'));
    this.registerBuffer('relative_position_index', relativePositionIndex(this.windowSize));
    this.registerModule('cpb_mlp', new Sequential(new Linear(2, 512, o), new ReLU(), new Linear(512, this.numHeads, { bias: false, ...o })));
    this.registerModule('qkv', initLinear(new Linear(this.dim, 3 * this.dim, { bias: false, ...o })));
    this.registerModule('attn_drop', new Dropout(checkRate('WindowAttentionV2: attnDrop', opts.attnDrop)));
    this.registerModule('proj', initLinear(new Linear(this.dim, this.dim, o)));
    this.registerModule('proj_drop', new Dropout(checkRate('WindowAttentionV2: projDrop', opts.projDrop)));
  }

  /** x (B·nW, N, C) with N = Wh·Ww; mask (nW, N, N) (0 / −100) or none. */
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    const [wh, ww] = this.windowSize;
    const N = wh * ww;
    const s = x.shape;
    if (s.length !== 3 || s[1] !== N || s[2] !== this.dim) {
      throw new RangeError(`WindowAttentionV2: expected windows of shape (B*nW, ${N}, ${this.dim}), but got shape ${shapeStr(x)}`);
    }
    return tidy(() => {
      const Bw = s[0];
      const nH = this.numHeads;
      const qkvBias = this.q_bias && this.v_bias ? cat([this.q_bias, zerosLike(this.v_bias), this.v_bias], 0) : null;
      const qkv = linear(x, this.qkv.weight, qkvBias).reshape([Bw, N, 3, nH, this.dim / nH]).permute([2, 0, 3, 1, 4]);
      // chunk, not select: the backward of three selects zero-fills and adds three full-size
      // gradients; chunk's backward concatenates once.
      const [q, k, v] = qkv.chunk(3, 0).map((t) => t.squeeze(0));
      const unit = (t: Tensor): Tensor => t.div(t.norm(2, -1, true).clamp(1e-12, null)); // F.normalize
      const logitScale = this.logit_scale.clamp(null, Math.log(100)).exp(); // (nH, 1, 1)
      const qn = unit(q).mul(logitScale);
      const kn = unit(k);
      const table = this.cpb_mlp.forward(this.relative_coords_table).view([-1, nH]).sigmoid().mul(16); // ((2Wh−1)(2Ww−1), nH)
      let o: Tensor;
      if (this.training && this.attn_drop.p > 0) {
        let attn = qn.matmul(kn.transpose(-2, -1));
        attn = attn.add(table.indexSelect(0, this.relative_position_index.view([-1])).view([N, N, nH]).permute([2, 0, 1]).unsqueeze(0));
        if (mask !== null) {
          const nW = mask.shape[0];
          attn = attn.view([Bw / nW, nW, nH, N, N]).add(mask.unsqueeze(1).unsqueeze(0)).view([-1, nH, N, N]);
        }
        o = dropout(softmax(attn, -1), this.attn_drop.p, true).matmul(v);
      } else {
        o = windowAttention(qn, kn, v, table, this.relative_position_index, { mask, scale: 1 });
      }
      return this.proj_drop.forward(this.proj.forward(o.transpose(1, 2).reshape([Bw, N, this.dim])));
    });
  }

  override extraRepr(): string {
    return `dim=${this.dim}, window_size=(${this.windowSize.join(', ')}), num_heads=${this.numHeads}`;
  }
}

/**
 * Swin V2's log-spaced relative coordinates (1, 2Wh−1, 2Ww−1, 2): offsets divided by
 * (pretrained window − 1) (or window − 1), times 8, then sign(t)·log2(|t| + 1)/log2(8).
 */
function relativeCoordsTable(ws: [number, number], pretrained: [number, number], dtype: DType): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [wh, ww] = ws;
      const dh = pretrained[0] > 0 ? pretrained[0] - 1 : wh - 1;
      const dw = pretrained[1] > 0 ? pretrained[1] - 1 : ww - 1;
      const hs = arange(-(wh - 1), wh, 1, { dtype: 'float32' }).div(Math.max(dh, 1));
      const wsv = arange(-(ww - 1), ww, 1, { dtype: 'float32' }).div(Math.max(dw, 1));
      const grid = stack([hs.view([-1, 1]).expand([2 * wh - 1, 2 * ww - 1]), wsv.view([1, -1]).expand([2 * wh - 1, 2 * ww - 1])], 2).unsqueeze(0).mul(8);
      return grid.sign().mul(grid.abs().add(1).log().div(Math.LN2)).div(3).to(dtype).contiguous(); // log2(8) = 3
    }),
  );
}

/** The block MLP: fc1 → GELU → dropout → fc2 → dropout. */
export class Mlp extends Module {
  declare fc1: Linear;
  declare act: GELU;
  declare fc2: Linear;
  declare drop: Dropout;

  constructor(inFeatures: number, hiddenFeatures: number, opts: { drop?: number; dtype?: DType } = {}) {
    super();
    const o = { dtype: opts.dtype };
    this.registerModule('fc1', initLinear(new Linear(checkInt('Mlp: inFeatures', inFeatures, 1), checkInt('Mlp: hiddenFeatures', hiddenFeatures, 1), o)));
    this.registerModule('act', new GELU());
    this.registerModule('fc2', initLinear(new Linear(hiddenFeatures, inFeatures, o)));
    this.registerModule('drop', new Dropout(checkRate('Mlp: drop', opts.drop)));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.drop.forward(this.fc2.forward(this.drop.forward(this.act.forward(this.fc1.forward(x))))));
  }
}

/** Options of {@link SwinTransformerBlock}. */
export interface SwinTransformerBlockOptions {
  dim: number;
  /** The token grid [H, W] (or a square size). */
  inputResolution: number | [number, number];
  numHeads: number;
  /** Default 7. */
  windowSize?: number;
  /** Default 0 (must be < windowSize). */
  shiftSize?: number;
  /** Default 4. */
  mlpRatio?: number;
  qkvBias?: boolean;
  qkScale?: number | null;
  drop?: number;
  attnDrop?: number;
  /** Stochastic depth rate of this block. */
  dropPath?: number;
  /** 2: Swin V2 block (scaled cosine attention, continuous position bias, post-norm). Default 1. */
  version?: 1 | 2;
  /** V2: the window size the weights were pre-trained with (scales the position coordinates). */
  pretrainedWindowSize?: number;
  dtype?: DType;
}

/**
 * A Swin block (the official `SwinTransformerBlock`), pre-norm:
 *   x = x + dropPath(reverse+roll(attn(roll+partition(norm1(x)), attn_mask)))
 *   x = x + dropPath(mlp(norm2(x)))
 * on (B, H·W, C). The official rule applies: when min(H, W) ≤ windowSize the window becomes
 * min(H, W) and the shift 0. A resolution that is not a multiple of the window is padded at
 * the bottom/right (as the detection variants do) and cropped back.
 */
export class SwinTransformerBlock extends Module {
  declare attn_mask: Tensor | null;
  declare norm1: LayerNorm;
  declare attn: WindowAttention | WindowAttentionV2;
  declare drop_path: DropPath;
  declare norm2: LayerNorm;
  declare mlp: Mlp;
  readonly dim: number;
  readonly inputResolution: [number, number];
  readonly numHeads: number;
  readonly windowSize: number;
  readonly shiftSize: number;
  readonly mlpRatio: number;
  readonly version: 1 | 2;

  constructor(opts: SwinTransformerBlockOptions) {
    super();
    const where = 'SwinTransformerBlock';
    if (opts === null || typeof opts !== 'object') typeError(where, 'options { dim, inputResolution, numHeads }', opts);
    this.dim = checkInt(`${where}: dim`, opts.dim, 1);
    this.inputResolution = resolutionArg(`${where}: inputResolution`, opts.inputResolution);
    this.numHeads = checkInt(`${where}: numHeads`, opts.numHeads, 1);
    const ws0 = checkInt(`${where}: windowSize`, opts.windowSize ?? 7, 1);
    const sh0 = checkInt(`${where}: shiftSize`, opts.shiftSize ?? 0, 0);
    if (sh0 >= ws0) throw new RangeError(`${where}: shiftSize must be in [0, windowSize) = [0, ${ws0}), but got ${sh0}`);
    const [H, W] = this.inputResolution;
    const rule = stageWindow(H, W, ws0, sh0);
    this.windowSize = rule.windowSize;
    this.shiftSize = rule.shiftSize;
    this.mlpRatio = checkNumber(`${where}: mlpRatio`, opts.mlpRatio ?? 4);
    const o = { dtype: opts.dtype };
    const Hp = Math.ceil(H / this.windowSize) * this.windowSize;
    const Wp = Math.ceil(W / this.windowSize) * this.windowSize;
    this.registerBuffer('attn_mask', this.shiftSize > 0 ? shiftedWindowMask(Hp, Wp, this.windowSize, this.shiftSize, { dtype: opts.dtype ?? 'float32' }) : null);
    this.version = opts.version ?? 1;
    if (this.version !== 1 && this.version !== 2) typeError(`${where}: version`, '1 or 2', opts.version);
    this.registerModule('norm1', new LayerNorm(this.dim, o));
    const attnOpts = { dim: this.dim, windowSize: this.windowSize, numHeads: this.numHeads, qkvBias: opts.qkvBias, qkScale: opts.qkScale, attnDrop: opts.attnDrop, projDrop: opts.drop, dtype: opts.dtype };
    this.registerModule('attn', this.version === 2
      ? new WindowAttentionV2({ ...attnOpts, pretrainedWindowSize: opts.pretrainedWindowSize || undefined })
      : new WindowAttention(attnOpts));
    this.registerModule('drop_path', new DropPath(opts.dropPath ?? 0));
    this.registerModule('norm2', new LayerNorm(this.dim, o));
    this.registerModule('mlp', new Mlp(this.dim, Math.trunc(this.dim * this.mlpRatio), { drop: opts.drop, dtype: opts.dtype }));
    if (this.version === 2) {
      // V2's _init_respostnorm: the post-norms start at zero, so each block starts as identity.
      noGrad(() => [this.norm1, this.norm2].forEach((n) => [n.weight, n.bias].forEach((t) => t?.zero_())));
    }
  }

  /** x (B, H·W, C) → (B, H·W, C). */
  forward(x: Tensor): Tensor {
    const [H, W] = this.inputResolution;
    const C = this.dim;
    const s = x.shape;
    if (s.length !== 3 || s[1] !== H * W || s[2] !== C) {
      throw new RangeError(`SwinTransformerBlock: expected x of shape (B, ${H * W}, ${C}) (input resolution ${H}x${W}), but got shape ${shapeStr(x)}`);
    }
    return tidy(() => {
      const B = s[0];
      const ws = this.windowSize;
      const shift = this.shiftSize;
      const v2 = this.version === 2;
      // V1 normalises before attention and MLP (pre-norm); V2 after (res-post-norm).
      let h = (v2 ? x : this.norm1.forward(x)).view([B, H, W, C]);
      const padded = padToWindow(h, ws);
      h = padded.x;
      const Hp = H + padded.padH;
      const Wp = W + padded.padW;
      const windows = rollAndWindowPartition(h, ws, shift);
      const attended = this.attn.forward(windows, this.attn_mask);
      let y = windowMergeAndRoll(attended, ws, Hp, Wp, shift);
      if (Hp !== H || Wp !== W) y = y.narrow(1, 0, H).narrow(2, 0, W).contiguous();
      const attnOut = y.view([B, H * W, C]);
      const x1 = x.add(this.drop_path.forward(v2 ? this.norm1.forward(attnOut) : attnOut));
      if (v2) return x1.add(this.drop_path.forward(this.norm2.forward(this.mlp.forward(x1))));
      return x1.add(this.drop_path.forward(this.mlp.forward(this.norm2.forward(x1))));
    });
  }

  override extraRepr(): string {
    return `dim=${this.dim}, input_resolution=(${this.inputResolution.join(', ')}), num_heads=${this.numHeads}, window_size=${this.windowSize}, shift_size=${this.shiftSize}, mlp_ratio=${this.mlpRatio}`;
  }
}

/**
 * Patch merging (the official `PatchMerging`): (B, H·W, C) → (B, H/2·W/2, 2C) by the
 * 2 × 2 gather ({@link patchMerge}), LayerNorm(4C) and Linear(4C → 2C, no bias).
 */
export class PatchMerging extends Module {
  declare reduction: Linear;
  declare norm: LayerNorm;
  readonly inputResolution: [number, number];
  readonly dim: number;

  readonly version: 1 | 2;

  /** version 2 (Swin V2): the LayerNorm (2C) comes after the reduction. */
  constructor(opts: { inputResolution: number | [number, number]; dim: number; version?: 1 | 2; dtype?: DType }) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('PatchMerging', 'options { inputResolution, dim }', opts);
    this.inputResolution = resolutionArg('PatchMerging: inputResolution', opts.inputResolution);
    this.dim = checkInt('PatchMerging: dim', opts.dim, 1);
    this.version = opts.version ?? 1;
    const o = { dtype: opts.dtype };
    this.registerModule('reduction', initLinear(new Linear(4 * this.dim, 2 * this.dim, { bias: false, ...o })));
    this.registerModule('norm', new LayerNorm((this.version === 2 ? 2 : 4) * this.dim, o));
  }

  forward(x: Tensor): Tensor {
    const [H, W] = this.inputResolution;
    const s = x.shape;
    if (s.length !== 3 || s[1] !== H * W || s[2] !== this.dim) {
      throw new RangeError(`PatchMerging: expected x of shape (B, ${H * W}, ${this.dim}) (input resolution ${H}x${W}), but got shape ${shapeStr(x)}`);
    }
    return tidy(() => {
      const m = patchMerge(x.view([s[0], H, W, this.dim])).view([s[0], -1, 4 * this.dim]);
      return this.version === 2 ? this.norm.forward(this.reduction.forward(m)) : this.reduction.forward(this.norm.forward(m));
    });
  }
}

/** Options of {@link BasicLayer}. */
export interface BasicLayerOptions extends Omit<SwinTransformerBlockOptions, 'shiftSize' | 'dropPath'> {
  depth: number;
  /** Stochastic depth rate per block, or one for all. */
  dropPath?: number | number[];
  /** Patch merging at the end of the stage. */
  downsample?: boolean;
}

/** One stage: `depth` blocks alternating shift 0 / windowSize/2, then optional PatchMerging. */
export class BasicLayer extends Module {
  declare blocks: ModuleList<SwinTransformerBlock>;
  declare downsample: PatchMerging | null;
  readonly depth: number;

  constructor(opts: BasicLayerOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('BasicLayer', 'options { dim, inputResolution, depth, numHeads }', opts);
    this.depth = checkInt('BasicLayer: depth', opts.depth, 1);
    const ws = opts.windowSize ?? 7;
    const dp = opts.dropPath ?? 0;
    const rates = Array.isArray(dp) ? dp : Array.from({ length: this.depth }, () => dp);
    if (rates.length !== this.depth) throw new RangeError(`BasicLayer: dropPath has ${rates.length} rates for ${this.depth} blocks`);
    const { depth: _d, dropPath: _p, downsample, ...blockOpts } = opts;
    const blocks = rates.map((r, i) => new SwinTransformerBlock({ ...blockOpts, shiftSize: i % 2 === 0 ? 0 : Math.floor(ws / 2), dropPath: r }));
    this.registerModule('blocks', new ModuleList(blocks));
    this.registerModule('downsample', downsample ? new PatchMerging({ inputResolution: opts.inputResolution, dim: opts.dim, version: opts.version, dtype: opts.dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      for (const b of this.blocks) x = b.forward(x);
      return this.downsample ? this.downsample.forward(x) : x;
    });
  }
}

/** Options of {@link SwinTransformer} (the official constructor's, in camelCase). */
export interface SwinTransformerOptions {
  imgSize?: number;
  patchSize?: number;
  inChans?: number;
  /** 0: no head (forward returns the pooled features). Default 1000. */
  numClasses?: number;
  embedDim?: number;
  depths?: number[];
  numHeads?: number[];
  windowSize?: number;
  mlpRatio?: number;
  qkvBias?: boolean;
  qkScale?: number | null;
  dropRate?: number;
  attnDropRate?: number;
  /** Stochastic depth, linearly 0 → dropPathRate over all blocks. Default 0.1 as official. */
  dropPathRate?: number;
  /** Absolute position embedding (default false). */
  ape?: boolean;
  patchNorm?: boolean;
  /** 2: Swin V2 (see {@link SwinTransformerV2}). Default 1. */
  version?: 1 | 2;
  /** V2: per stage, the window size of pre-training (0 = none). */
  pretrainedWindowSizes?: number[];
  dtype?: DType;
}

/** Options of {@link SwinTransformer.loadStateDict}. */
export interface SwinLoadStateDictOptions {
  strict?: boolean;
  /**
   * Fill `relative_position_index` / `attn_mask` absent from the checkpoint (timm saves them
   * non-persistent) with the model's own (default true); they are constants of the config.
   */
  allowMissingBuffers?: boolean;
}

const CONSTANT_BUFFER = /(^|\.)(relative_position_index|relative_coords_table|attn_mask)$/;

/**
 * Swin Transformer (the official `SwinTransformer`): patch embedding, stages of shifted-window
 * blocks with patch merging between them, LayerNorm, average pooling over tokens, linear head.
 */
export class SwinTransformer extends Module {
  declare absolute_pos_embed: Tensor | null;
  declare patch_embed: PatchEmbed;
  declare pos_drop: Dropout;
  declare layers: ModuleList<BasicLayer>;
  declare norm: LayerNorm;
  declare head: Linear | null;
  readonly numClasses: number;
  readonly numLayers: number;
  readonly numFeatures: number;
  readonly embedDim: number;

  constructor(opts: SwinTransformerOptions = {}) {
    super();
    const where = 'SwinTransformer';
    if (opts === null || typeof opts !== 'object') typeError(where, 'an options object', opts);
    const depths = opts.depths ?? [2, 2, 6, 2];
    const heads = opts.numHeads ?? [3, 6, 12, 24];
    if (!Array.isArray(depths) || depths.length === 0) typeError(`${where}: depths`, 'a non-empty array of integers', depths);
    if (!Array.isArray(heads) || heads.length !== depths.length) typeError(`${where}: numHeads`, `an array of ${depths.length} integers (one per stage)`, heads);
    depths.forEach((d, i) => checkInt(`${where}: depths[${i}]`, d, 1));
    this.numClasses = checkInt(`${where}: numClasses`, opts.numClasses ?? 1000, 0);
    this.embedDim = checkInt(`${where}: embedDim`, opts.embedDim ?? 96, 1);
    this.numLayers = depths.length;
    this.numFeatures = this.embedDim * 2 ** (this.numLayers - 1);
    const dtype = opts.dtype;
    const ape = checkBool(`${where}: ape`, opts.ape ?? false);
    const pe = new PatchEmbed({ imgSize: opts.imgSize ?? 224, patchSize: opts.patchSize ?? 4, inChans: opts.inChans ?? 3, embedDim: this.embedDim, norm: opts.patchNorm ?? true, dtype });
    const [pH, pW] = pe.patchesResolution;
    if (pH >> (this.numLayers - 1) < 1 || pW >> (this.numLayers - 1) < 1) {
      throw new RangeError(`${where}: the ${pH}x${pW} patch grid is too small for ${this.numLayers} stages`);
    }
    this.registerParameter('absolute_pos_embed', ape ? noGrad(() => zeros([1, pH * pW, this.embedDim], { dtype }).normal_(0, 0.02).clamp_(-2, 2)) : null);
    this.registerModule('patch_embed', pe);
    this.registerModule('pos_drop', new Dropout(checkRate(`${where}: dropRate`, opts.dropRate)));
    const total = depths.reduce((a, b) => a + b, 0);
    const dpr = checkRate(`${where}: dropPathRate`, opts.dropPathRate ?? 0.1);
    const rates = Array.from({ length: total }, (_, i) => (total === 1 ? 0 : (dpr * i) / (total - 1)));
    const layers: BasicLayer[] = [];
    let start = 0;
    // Each PatchMerging halves the resolution, rounding up: odd sizes are padded as the
    // detection variants do (for the even sizes of the official configs this is H / 2^i).
    let res: [number, number] = [pH, pW];
    for (let i = 0; i < this.numLayers; i++) {
      if (i > 0) res = [Math.ceil(res[0] / 2), Math.ceil(res[1] / 2)];
      layers.push(new BasicLayer({
        dim: this.embedDim * 2 ** i,
        inputResolution: res,
        depth: depths[i],
        numHeads: checkInt(`${where}: numHeads[${i}]`, heads[i], 1),
        windowSize: opts.windowSize ?? 7,
        mlpRatio: opts.mlpRatio ?? 4,
        qkvBias: opts.qkvBias ?? true,
        qkScale: opts.qkScale,
        drop: checkRate(`${where}: dropRate`, opts.dropRate),
        attnDrop: checkRate(`${where}: attnDropRate`, opts.attnDropRate),
        dropPath: rates.slice(start, start + depths[i]),
        downsample: i < this.numLayers - 1,
        version: opts.version,
        pretrainedWindowSize: opts.pretrainedWindowSizes?.[i],
        dtype,
      }));
      start += depths[i];
    }
    this.registerModule('layers', new ModuleList(layers));
    this.registerModule('norm', new LayerNorm(this.numFeatures, { dtype }));
    this.registerModule('head', this.numClasses > 0 ? initLinear(new Linear(this.numFeatures, this.numClasses, { dtype })) : null);
  }

  /** Images (B, inChans, H, W) → pooled features (B, numFeatures). */
  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => {
      let h = this.patch_embed.forward(x);
      if (this.absolute_pos_embed) h = h.add(this.absolute_pos_embed);
      h = this.pos_drop.forward(h);
      for (const layer of this.layers) h = layer.forward(h);
      return this.norm.forward(h).mean(1);
    });
  }

  /** Images (B, inChans, H, W) → logits (B, numClasses) (the features when numClasses is 0). */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const f = this.forwardFeatures(x);
      return this.head ? this.head.forward(f) : f;
    });
  }

  /**
   * Loads an official checkpoint (keys as `state_dict()` above). Also takes timm-style ones:
   * `relative_position_index` / `attn_mask` may be absent (see
   * {@link SwinLoadStateDictOptions.allowMissingBuffers}), `head.fc.*` is read as `head.*`,
   * and a downsample stored at the start of the next stage (`layers.{i+1}.downsample.*`,
   * timm ≥ 0.9) is moved to the end of stage i.
   */
  override loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, opts: SwinLoadStateDictOptions = {}): LoadStateDictResult {
    if (stateDict === null || typeof stateDict !== 'object') typeError('loadStateDict', 'a state dict ({ key: Tensor })', stateDict);
    const allow = checkBool('loadStateDict: allowMissingBuffers', opts.allowMissingBuffers ?? true);
    let given = new Map(stateDict instanceof Map ? stateDict : Object.entries(stateDict));
    const last = this.numLayers - 1;
    if (given.has(`layers.${last}.downsample.reduction.weight`) && !given.has(`layers.0.downsample.reduction.weight`)) {
      given = new Map([...given].map(([k, v]) => {
        const m = /^layers\.(\d+)\.downsample\.(.*)$/.exec(k);
        return m ? [`layers.${Number(m[1]) - 1}.downsample.${m[2]}`, v] : [k, v];
      }));
    }
    for (const suffix of ['weight', 'bias']) {
      const t = given.get(`head.fc.${suffix}`);
      if (t !== undefined && !given.has(`head.${suffix}`)) {
        given.delete(`head.fc.${suffix}`);
        given.set(`head.${suffix}`, t);
      }
    }
    const filled = new Set<string>();
    if (allow) {
      for (const [k, t] of Object.entries(this.stateDict({ keepVars: true }))) {
        if (CONSTANT_BUFFER.test(k) && !given.has(k)) {
          given.set(k, t);
          filled.add(k);
        }
      }
    }
    const r = super.loadStateDict(given, { strict: opts.strict });
    return { missingKeys: r.missingKeys, unexpectedKeys: r.unexpectedKeys.filter((k) => !filled.has(k)) };
  }
}

/**
 * Swin Transformer V2 (Liu et al., 2022; the official `SwinTransformerV2`): the same stages with
 * V2 blocks — scaled cosine attention with a learnable logit scale per head, a continuous
 * relative position bias from a small MLP over log-spaced coordinates, LayerNorm after
 * attention and MLP (res-post-norm, initialised to zero), and PatchMerging that normalises after
 * the reduction. State-dict keys are the official V2 ones (`attn.logit_scale`, `attn.q_bias`,
 * `attn.v_bias`, `attn.cpb_mlp.{0,2}.*`, `attn.relative_coords_table`, …).
 */
export class SwinTransformerV2 extends SwinTransformer {
  constructor(opts: Omit<SwinTransformerOptions, 'version' | 'qkScale'> = {}) {
    super({ ...opts, version: 2 });
  }
}

type PresetOptions = Omit<SwinTransformerOptions, 'embedDim' | 'depths' | 'numHeads'>;

/** Swin-T: embed 96, depths [2, 2, 6, 2], heads [3, 6, 12, 24] (28M parameters, 4.5 GFLOPs at 224²). */
export const swinT = (opts: PresetOptions = {}): SwinTransformer => new SwinTransformer({ ...opts, embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24] });
/** Swin-S: embed 96, depths [2, 2, 18, 2], heads [3, 6, 12, 24]. */
export const swinS = (opts: PresetOptions = {}): SwinTransformer => new SwinTransformer({ ...opts, embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24] });
/** Swin-B: embed 128, depths [2, 2, 18, 2], heads [4, 8, 16, 32]. */
export const swinB = (opts: PresetOptions = {}): SwinTransformer => new SwinTransformer({ ...opts, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32] });
