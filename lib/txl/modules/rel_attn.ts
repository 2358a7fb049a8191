/**
 * RelPartialLearnableMultiHeadAttn (Transformer-XL's attention, attn_type 0) and the decoder
 * layer around it, with upstream's parameter names (`qkv_net`, `o_net`, `layer_norm`, `r_net`;
 * the layer's `dec_attn`, `pos_ff`). Inputs keep the official (len, batch, d) layout; heads are
 * views into the qkv projection, and the attention runs tn.txl.relativePositionalAttention.
 *
 *   h = [mems; w]  (klen = mlen + qlen),  q, k, v = qkv_net(h) (q: the last qlen rows),  r_k = r_net(r)
 *   vec = relattn(q, k, v, r_k, r_w_bias, r_r_bias);   out = drop(o_net(vec))
 *   post-norm: LN(w + out);  preLnorm: w + out (the LN is applied to h before qkv_net)
 */
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { Dropout } from '../../nn/dropout';
import { LayerNorm } from '../../nn/layer_norm';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { cat } from '../../ops/shape';
import type { Tensor } from '../../tensor';
import { relativePositionalAttention } from '../functional';
import { PositionwiseFF } from './positionwise_ff';

/** Sizes and switches shared by the attention and the layer. */
export interface RelAttnOptions {
  nHead: number;
  dModel: number;
  dHead: number;
  dropout: number;
  dropatt: number;
  preLnorm: boolean;
  dtype?: DType;
  device?: Device;
}

/** What a forward call needs besides the input. */
export interface RelAttnInputs {
  /** Positional embeddings (klen, 1, dModel) for distances klen−1 … 0. */
  r: Tensor;
  rWBias: Tensor;
  rRBias: Tensor;
  /** Memory (mlen, B, dModel), or null / empty. */
  mems: Tensor | null;
  sameLength: boolean;
  memLen: number;
  /**
   * Evaluation only: the memory's keys and values (mlen, B, H, d) from the previous segment, so
   * qkv_net runs over the segment alone instead of memory + segment. Equal to recomputing them
   * while the weights do not change (no training between segments).
   */
  kvMem?: KeyValues | null;
}

/** Keys and values in the official layout (len, B, H, d). */
export interface KeyValues {
  k: Tensor;
  v: Tensor;
}

/** Relative multi-head attention; see the module documentation. */
export class RelPartialLearnableMultiHeadAttn extends Module {
  declare qkv_net: Linear;
  declare drop: Dropout;
  declare o_net: Linear;
  declare layer_norm: LayerNorm;
  declare r_net: Linear;
  constructor(readonly o: RelAttnOptions) {
    super();
    const p = { dtype: o.dtype, device: o.device };
    this.registerModule('qkv_net', new Linear(o.dModel, 3 * o.nHead * o.dHead, { bias: false, ...p }));
    this.registerModule('drop', new Dropout(o.dropout));
    this.registerModule('o_net', new Linear(o.nHead * o.dHead, o.dModel, { bias: false, ...p }));
    this.registerModule('layer_norm', new LayerNorm(o.dModel, p));
    this.registerModule('r_net', new Linear(o.dModel, o.nHead * o.dHead, { bias: false, ...p }));
  }

  /** w (qlen, B, dModel) → (qlen, B, dModel). */
  forward(w: Tensor, x: RelAttnInputs): Tensor {
    return this.forwardWithKeyValues(w, x).out;
  }

  /** forward(), also returning the keys and values of memory + segment (klen, B, H, d). */
  forwardWithKeyValues(w: Tensor, x: RelAttnInputs): { out: Tensor; kv: KeyValues } {
    const [qlen, B] = w.shape;
    const { nHead: H, dHead: D } = this.o;
    const project = (h: Tensor): Tensor => this.qkv_net.forward(this.o.preLnorm ? this.layer_norm.forward(h) : h).view(h.shape[0], B, 3, H, D);
    let kl: Tensor;
    let vl: Tensor;
    let ql: Tensor;
    if (x.kvMem && x.kvMem.k.shape[0] > 0) {
      // Memory keys/values reused: project the segment only.
      const heads = project(w);
      ql = heads.select(2, 0);
      kl = cat([x.kvMem.k, heads.select(2, 1)], 0);
      vl = cat([x.kvMem.v, heads.select(2, 2)], 0);
    } else {
      const h = x.mems && x.mems.shape[0] > 0 ? cat([x.mems, w], 0) : w;
      const heads = project(h);
      ql = heads.select(2, 0).narrow(0, h.shape[0] - qlen, qlen);
      kl = heads.select(2, 1);
      vl = heads.select(2, 2);
    }
    const klen = kl.shape[0];
    // (len, B, H, d) → (B, H, len, d): views, no copies.
    const q = ql.permute(1, 2, 0, 3);
    const k = kl.permute(1, 2, 0, 3);
    const v = vl.permute(1, 2, 0, 3);
    const rK = this.r_net.forward(x.r).view(klen, H, D).permute(1, 0, 2);
    const vec = relativePositionalAttention(q, k, v, rK, x.rWBias, x.rRBias, {
      sameLength: x.sameLength, memLen: x.memLen, dropoutP: this.training ? this.o.dropatt : 0,
    });
    const out = this.drop.forward(this.o_net.forward(vec.permute(2, 0, 1, 3).reshape(qlen, B, H * D)));
    return { out: this.o.preLnorm ? w.add(out) : this.layer_norm.forward(w.add(out)), kv: { k: kl, v: vl } };
  }
}

/** A Transformer-XL decoder layer: relative attention, then the feed-forward block. */
export class RelPartialLearnableDecoderLayer extends Module {
  declare dec_attn: RelPartialLearnableMultiHeadAttn;
  declare pos_ff: PositionwiseFF;
  constructor(o: RelAttnOptions & { dInner: number }) {
    super();
    this.registerModule('dec_attn', new RelPartialLearnableMultiHeadAttn(o));
    this.registerModule('pos_ff', new PositionwiseFF(o.dModel, o.dInner, o.dropout, o.preLnorm, { dtype: o.dtype, device: o.device }));
  }

  forward(w: Tensor, x: RelAttnInputs): Tensor {
    return this.pos_ff.forward(this.dec_attn.forward(w, x));
  }

  /** forward(), also returning the attention's keys and values of memory + segment. */
  forwardWithKeyValues(w: Tensor, x: RelAttnInputs): { out: Tensor; kv: KeyValues } {
    const { out, kv } = this.dec_attn.forwardWithKeyValues(w, x);
    return { out: this.pos_ff.forward(out), kv };
  }
}
