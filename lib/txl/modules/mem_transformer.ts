/**
 * MemTransformerLM: the Transformer-XL language model (kimiyoung/transformer-xl,
 * pytorch/mem_transformer.py, attn_type 0), with upstream's module tree and state-dict keys
 * (`r_w_bias`, `r_r_bias`, `word_emb.*`, `layers.{i}.dec_attn.*`, `layers.{i}.pos_ff.*`,
 * `crit.*`, `pos_emb.inv_freq`), so its checkpoints load strictly (tied tensors under both names).
 *
 * Layout is upstream's: data and target (len, batch). `forward(data, target, ...mems)` returns
 * [loss (tgtLen, batch), ...newMems]: per-token negative log-likelihood and nLayer + 1 memories
 * (the embedding output and every layer's), each (≤ memLen, batch, dModel), computed without
 * gradient — training over consecutive segments is truncated backpropagation, as upstream.
 * `forwardSegment` does the same with a state object whose old memories it frees.
 *
 * @example
 * const model = new tn.txl.MemTransformerLM({ nToken: 1000, nLayer: 4, nHead: 4, dModel: 256, dHead: 64, dInner: 1024, tgtLen: 128, memLen: 128 });
 * const state = { mems: model.initMems(8) };
 * for (const [x, y] of segments) { const loss = model.forwardSegment(x, y, state); loss.mean().backward(); … }
 */
import { noGrad } from '../../autograd';
import { arange } from '../../creation';
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { checkBool, checkInt, checkNumber, typeError } from '../../errors';
import { isGradEnabled } from '../../autograd';
import { dispose, keep, tidy } from '../../memory';
import { Dropout } from '../../nn/dropout';
import { Module } from '../../nn/module';
import { ModuleList } from '../../nn/module_list';
import { cat } from '../../ops/shape';
import { zeros } from '../../creation';
import { Tensor } from '../../tensor';
import { AdaptiveEmbedding } from './adaptive_embedding';
import { ProjectedAdaptiveLogSoftmax } from './adaptive_softmax';
import { PositionalEmbedding } from './positional_embedding';
import { RelPartialLearnableDecoderLayer } from './rel_attn';
import type { KeyValues } from './rel_attn';

/** The recurrent state of {@link MemTransformerLM.forwardSegment}. */
export interface TXLState {
  /** nLayer + 1 memories (mlen, B, dModel). */
  mems: Tensor[];
  /** Evaluation only: per layer, the memory's keys and values (kept by forwardSegment). */
  kv?: KeyValues[];
}

/** Options of {@link MemTransformerLM} (upstream's arguments in camelCase). */
export interface MemTransformerLMOptions {
  nToken: number;
  nLayer: number;
  nHead: number;
  dModel: number;
  dHead: number;
  dInner: number;
  /** Embedding width before projection (default dModel). */
  dEmbed?: number;
  /** Adaptive-softmax cluster shrink factor (default 1). */
  divVal?: number;
  /** Tie output and input embeddings (default true). */
  tieWeight?: boolean;
  /** Per cluster: share the output projection with the input's (default [false]). */
  tieProjs?: boolean[];
  /** Segment length (documentation of the intended use; any qlen is accepted). */
  tgtLen?: number;
  /** Extended context (default 0). */
  extLen?: number;
  /** Memory length (default 0: no memory). */
  memLen?: number;
  /** Clamp relative distances to this (default −1: off). */
  clampLen?: number;
  /** Every query sees memLen + 1 keys (default false). */
  sameLength?: boolean;
  /** Pre-LayerNorm blocks (default false). */
  preLnorm?: boolean;
  /** Adaptive-softmax cutoffs (default none). */
  cutoffs?: number[];
  /** Default 0. */
  dropout?: number;
  /** Attention-probability dropout (default 0). */
  dropatt?: number;
  dtype?: DType;
  device?: Device;
}

type Resolved = Required<Omit<MemTransformerLMOptions, 'dtype' | 'device' | 'tgtLen'>> & { tgtLen: number | null };

/** The Transformer-XL language model; see the module documentation. */
export class MemTransformerLM extends Module {
  declare r_w_bias: Tensor;
  declare r_r_bias: Tensor;
  declare word_emb: AdaptiveEmbedding;
  declare drop: Dropout;
  declare layers: ModuleList<RelPartialLearnableDecoderLayer>;
  declare crit: ProjectedAdaptiveLogSoftmax;
  declare pos_emb: PositionalEmbedding;
  readonly config: Readonly<Resolved>;

  constructor(opts: MemTransformerLMOptions) {
    super();
    if (opts === null || typeof opts !== 'object') typeError('MemTransformerLM', 'options { nToken, nLayer, nHead, dModel, dHead, dInner, ... }', opts);
    const w = 'MemTransformerLM';
    const c: Resolved = {
      nToken: checkInt(`${w}: nToken`, opts.nToken, 1), nLayer: checkInt(`${w}: nLayer`, opts.nLayer, 1), nHead: checkInt(`${w}: nHead`, opts.nHead, 1),
      dModel: checkInt(`${w}: dModel`, opts.dModel, 2), dHead: checkInt(`${w}: dHead`, opts.dHead, 1), dInner: checkInt(`${w}: dInner`, opts.dInner, 1),
      dEmbed: checkInt(`${w}: dEmbed`, opts.dEmbed ?? opts.dModel, 1), divVal: checkInt(`${w}: divVal`, opts.divVal ?? 1, 1),
      tieWeight: checkBool(`${w}: tieWeight`, opts.tieWeight ?? true), tieProjs: opts.tieProjs ?? [false],
      tgtLen: opts.tgtLen === undefined ? null : checkInt(`${w}: tgtLen`, opts.tgtLen, 1), extLen: checkInt(`${w}: extLen`, opts.extLen ?? 0, 0),
      memLen: checkInt(`${w}: memLen`, opts.memLen ?? 0, 0), clampLen: checkInt(`${w}: clampLen`, opts.clampLen ?? -1, -1),
      sameLength: checkBool(`${w}: sameLength`, opts.sameLength ?? false), preLnorm: checkBool(`${w}: preLnorm`, opts.preLnorm ?? false),
      cutoffs: opts.cutoffs ?? [], dropout: checkNumber(`${w}: dropout`, opts.dropout ?? 0), dropatt: checkNumber(`${w}: dropatt`, opts.dropatt ?? 0),
    };
    let prev = 0;
    for (const [i, cut] of c.cutoffs.entries()) {
      if (!Number.isInteger(cut) || cut <= prev || cut >= c.nToken) throw new RangeError(`${w}: cutoffs: expected increasing integers in (0, nToken = ${c.nToken}), but got [${c.cutoffs.join(', ')}] (entry ${i})`);
      prev = cut;
    }
    this.config = c;
    const o = { dtype: opts.dtype, device: opts.device };
    const init = (shape: number[]): Tensor => zeros(shape, o).normal_(0, 0.02);
    this.registerParameter('r_w_bias', init([c.nHead, c.dHead]));
    this.registerParameter('r_r_bias', init([c.nHead, c.dHead]));
    this.registerModule('word_emb', new AdaptiveEmbedding(c.nToken, c.dEmbed, c.dModel, c.cutoffs, c.divVal, o));
    this.registerModule('drop', new Dropout(c.dropout));
    this.registerModule('layers', new ModuleList(Array.from({ length: c.nLayer }, () => new RelPartialLearnableDecoderLayer({
      nHead: c.nHead, dModel: c.dModel, dHead: c.dHead, dInner: c.dInner, dropout: c.dropout, dropatt: c.dropatt, preLnorm: c.preLnorm, ...o,
    }))));
    const crit = new ProjectedAdaptiveLogSoftmax(c.nToken, c.dEmbed, c.dModel, c.cutoffs, c.divVal, o);
    this.registerModule('crit', crit);
    if (c.tieWeight) {
      for (let i = 0; i < crit.out_layers.length; i++) {
        const old = crit.out_layers.at(i).weight;
        crit.out_layers.at(i).weight = this.word_emb.emb_layers.at(i).weight;
        old.dispose();
      }
    }
    c.tieProjs.forEach((tie, i) => {
      if (!tie || i >= crit.out_projs.length) return;
      const shared = c.divVal === 1 ? (c.dModel !== c.dEmbed ? this.word_emb.emb_projs.at(0) : null) : this.word_emb.emb_projs.at(i);
      if (shared) {
        crit.out_projs.at(i)?.dispose();
        crit.out_projs.set(i, shared);
      }
    });
    this.registerModule('pos_emb', new PositionalEmbedding(c.dModel, o));
  }

  /** Empty memories for a batch: nLayer + 1 tensors (0, bsz, dModel) (upstream: init_mems). */
  initMems(bsz: number): Tensor[] {
    checkInt('MemTransformerLM.initMems: bsz', bsz, 1);
    if (this.config.memLen === 0) return [];
    const w = this.r_w_bias;
    return Array.from({ length: this.config.nLayer + 1 }, () => zeros([0, bsz, this.config.dModel], { dtype: w.dtype, device: w.device }));
  }

  /**
   * The last layer's output (qlen, B, dModel) and the new memories (upstream: _forward +
   * _update_mems). With `keyValues` (evaluation only) each layer reuses the memory's keys and
   * values from the previous segment instead of projecting the memory again, and returns the
   * new ones (`kv`) for the next segment.
   */
  hidden(data: Tensor, mems: readonly Tensor[] = [], opts: { keyValues?: KeyValues[] | null } = {}): { hidden: Tensor; mems: Tensor[]; kv?: KeyValues[] } {
    const c = this.config;
    if (!(data instanceof Tensor) || data.ndim !== 2 || data.dtype !== 'int64') {
      throw new TypeError(`MemTransformerLM: data: expected int64 token ids (len, batch), but got ${data instanceof Tensor ? `${data.dtype} [${data.shape.join(', ')}]` : typeof data}`);
    }
    const [qlen, bsz] = data.shape;
    const useMems = c.memLen > 0 && mems.length > 0;
    if (useMems && mems.length !== c.nLayer + 1) throw new RangeError(`MemTransformerLM: expected ${c.nLayer + 1} memories (nLayer + 1), but got ${mems.length}`);
    if (useMems) {
      for (const [i, m] of mems.entries()) {
        if (!(m instanceof Tensor) || m.ndim !== 3 || m.shape[1] !== bsz || m.shape[2] !== c.dModel) {
          throw new RangeError(`MemTransformerLM: mems[${i}]: expected (mlen, ${bsz}, ${c.dModel}), but got ${m instanceof Tensor ? `[${m.shape.join(', ')}]` : typeof m}`);
        }
      }
    }
    const mlen = useMems ? mems[0].shape[0] : 0;
    const klen = mlen + qlen;
    const out = tidy(() => {
      const emb = this.word_emb.forward(data);
      let pos = arange(klen - 1, -1, -1, { dtype: emb.dtype });
      if (c.clampLen > 0) pos = pos.clamp(null, c.clampLen);
      const r = this.drop.forward(this.pos_emb.forward(pos));
      let core = this.drop.forward(emb);
      const hids = [core];
      const kvs: KeyValues[] = [];
      let i = 0;
      for (const layer of this.layers) {
        const x = { r, rWBias: this.r_w_bias, rRBias: this.r_r_bias, mems: useMems ? mems[i] : null, sameLength: c.sameLength, memLen: c.memLen };
        if (opts.keyValues) {
          const res = layer.forwardWithKeyValues(core, { ...x, kvMem: useMems ? opts.keyValues[i] ?? null : null });
          core = res.out;
          kvs.push(res.kv);
        } else core = layer.forward(core, x);
        hids.push(core);
        i++;
      }
      const [beg, end] = this.memoryWindow(qlen, mlen);
      const keepRows = (full: Tensor): Tensor => noGrad(() => full.detach().narrow(0, beg, end - beg).contiguous().clone());
      const newMems = c.memLen > 0 ? hids.map((h, j) => keepRows(useMems && mems[j].shape[0] > 0 ? cat([mems[j], h.detach()], 0) : h)) : [];
      // Keys/values stay views of this step's buffers (no copy): at most (mlen + qlen) rows each.
      const rows = (full: Tensor): Tensor => full.detach().narrow(0, beg, end - beg);
      const kv = opts.keyValues && c.memLen > 0 ? kvs.map((e) => ({ k: rows(e.k), v: rows(e.v) })) : undefined;
      return { hidden: this.drop.forward(core), mems: newMems, ...(kv ? { kv } : {}) };
    });
    return out;
  }

  /** Rows [beg, end) of [memory; segment] kept as the next memory (upstream's _update_mems). */
  private memoryWindow(qlen: number, mlen: number): [number, number] {
    const { memLen, extLen } = this.config;
    const end = mlen + Math.max(0, qlen - extLen);
    return [Math.max(0, end - memLen), end];
  }

  /** [loss (tgtLen, B), ...newMems] as upstream's forward(data, target, *mems). */
  forward(data: Tensor, target: Tensor, ...mems: Tensor[]): Tensor[] {
    if (!(target instanceof Tensor) || target.ndim !== 2) typeError('MemTransformerLM.forward: target', 'int64 targets (tgtLen, batch)', target);
    const tgtLen = target.shape[0];
    if (target.shape[1] !== data.shape[1] || tgtLen > data.shape[0]) {
      throw new RangeError(`MemTransformerLM.forward: target: expected (≤ ${data.shape[0]}, ${data.shape[1]}), but got [${target.shape.join(', ')}]`);
    }
    const { hidden, mems: newMems } = this.hidden(data, mems);
    return [this.lossOf(hidden, target), ...newMems];
  }

  /** Per-token loss (tgtLen, B) of the last tgtLen hidden states; frees `hidden`. */
  private lossOf(hidden: Tensor, target: Tensor): Tensor {
    const tgtLen = target.shape[0];
    const loss = tidy(() => {
      const pred = hidden.narrow(0, hidden.shape[0] - tgtLen, tgtLen);
      return this.crit.forward(pred.reshape(-1, this.config.dModel), target.reshape(-1)).view(tgtLen, -1);
    });
    hidden.dispose();
    return loss;
  }

  /**
   * forward() with a state object: replaces state.mems by the new memories and frees the old
   * ones. In evaluation (eval() and no gradient) it also keeps the memory's keys and values in
   * state.kv, so the next segment projects only its own tokens: the same numbers, about half
   * of qkv_net's work (and most of it when decoding one token at a time).
   */
  forwardSegment(data: Tensor, target: Tensor, state: TXLState): Tensor {
    if (!(target instanceof Tensor) || target.ndim !== 2 || target.shape[1] !== data.shape[1] || target.shape[0] > data.shape[0]) {
      return this.forward(data, target, ...state.mems)[0]; // forward() reports the problem
    }
    const reuse = !this.training && !isGradEnabled() && this.config.memLen > 0;
    const { hidden, mems, kv } = this.hidden(data, state.mems, { keyValues: reuse ? state.kv ?? [] : null });
    this.setState(state, mems, kv);
    return this.lossOf(hidden, target);
  }

  /** @internal Replaces a state's memories (and key/value cache), freeing the old ones. */
  setState(state: TXLState, mems: Tensor[], kv: KeyValues[] | undefined): void {
    for (const m of state.mems) m.dispose();
    for (const e of state.kv ?? []) dispose([e.k, e.v]);
    state.mems = mems.map((m) => keep(m));
    state.kv = kv?.map((e) => ({ k: keep(e.k), v: keep(e.v) }));
  }
}

