/**
 * AdaptiveEmbedding (Baevski & Auli, 2018; Transformer-XL's `word_emb`): the vocabulary is cut
 * into clusters by `cutoffs`; cluster i embeds in d_embed / divVal^i dimensions and projects to
 * d_proj with `emb_projs[i]` (d_proj, d_i). With divVal 1 there is one table (and a projection
 * only when d_proj ≠ d_embed). The result is scaled by √d_proj. Keys as upstream:
 * `emb_layers.{i}.weight`, `emb_projs.{i}`.
 */
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { Embedding } from '../../nn/embedding';
import { linear } from '../../nn/functional';
import { Module } from '../../nn/module';
import { ModuleList } from '../../nn/module_list';
import { ParameterList } from '../../nn/parameter_list';
import type { Tensor } from '../../tensor';
import { randn } from '../../creation';

/** The adaptive input embedding; see the module documentation. */
export class AdaptiveEmbedding extends Module {
  declare emb_layers: ModuleList<Embedding>;
  declare emb_projs: ParameterList;
  /** cutoffs + [nToken]. */
  readonly cutoffs: number[];
  readonly cutoffEnds: number[];
  readonly embScale: number;

  constructor(readonly nToken: number, readonly dEmbed: number, readonly dProj: number, cutoffs: readonly number[], readonly divVal = 1, o: { dtype?: DType; device?: Device } = {}) {
    super();
    this.cutoffs = [...cutoffs, nToken];
    this.cutoffEnds = [0, ...this.cutoffs];
    this.embScale = Math.sqrt(dProj);
    const layers = new ModuleList<Embedding>();
    const projs = new ParameterList();
    const init = (shape: number[]): Tensor => randn(shape, o).mul_(0.01);
    if (divVal === 1) {
      layers.append(new Embedding(nToken, dEmbed, o));
      if (dProj !== dEmbed) projs.append(init([dProj, dEmbed]));
    } else {
      for (let i = 0; i < this.cutoffs.length; i++) {
        const d = Math.floor(dEmbed / divVal ** i);
        layers.append(new Embedding(this.cutoffEnds[i + 1] - this.cutoffEnds[i], d, o));
        projs.append(init([dProj, d]));
      }
    }
    this.registerModule('emb_layers', layers);
    this.registerModule('emb_projs', projs);
  }

  /** Token ids (any shape) → (…, dProj). */
  forward(inp: Tensor): Tensor {
    if (this.divVal === 1) {
      let e = this.emb_layers.at(0).forward(inp);
      if (this.dProj !== this.dEmbed) e = linear(e, this.emb_projs.at(0)!);
      return e.mul(this.embScale);
    }
    // Each cluster embeds every token with its id clamped into the cluster, masked to the
    // cluster's tokens: no gather/scatter bookkeeping, and masked rows get zero gradient.
    let out: Tensor | null = null;
    for (let i = 0; i < this.cutoffs.length; i++) {
      const lo = this.cutoffEnds[i];
      const hi = this.cutoffEnds[i + 1];
      const inCluster = inp.ge(lo).logicalAnd(inp.lt(hi)).unsqueeze(-1);
      const local = inp.sub(lo).clamp(0, hi - lo - 1);
      const e = linear(this.emb_layers.at(i).forward(local), this.emb_projs.at(i)!).mul(inCluster.to(this.emb_projs.at(i)!.dtype));
      out = out ? out.add(e) : e;
    }
    return out!.mul(this.embScale);
  }
}
