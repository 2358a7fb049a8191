/**
 * ProjectedAdaptiveLogSoftmax (Transformer-XL's `crit`): the adaptive softmax of Grave et al.
 * with per-cluster projections. The head scores the shortlist (tokens below cutoffs[0]) plus
 * one logit per tail cluster (`cluster_weight`, `cluster_bias`); a token in tail cluster i has
 * log p = head[cluster i] + log_softmax(tail_i)[token]. As upstream, cluster i's head logit is
 * the head's column −i (the last for cluster 1), and with divVal 1 every cluster slices the one
 * `out_layers.0`. Keys as upstream: `cluster_weight`, `cluster_bias`, `out_layers.{i}.*`,
 * `out_projs.{i}` (absent where upstream holds None).
 *
 * forward(hidden (N, dProj), target (N)) → negative log-likelihood (N) in target order
 * (upstream's keep_order=True; its default groups by cluster — same values, same mean).
 * logProbs(hidden) → (N, nToken) for sampling.
 */
import { randn, zeros } from '../../creation';
import type { Device } from '../../creation';
import type { DType } from '../../dtype';
import { linear, logSoftmax } from '../../nn/functional';
import { Linear } from '../../nn/linear';
import { Module } from '../../nn/module';
import { ModuleList } from '../../nn/module_list';
import { ParameterList } from '../../nn/parameter_list';
import { cat, nonzero, scatterAdd } from '../../ops/shape';
import type { Tensor } from '../../tensor';

/** The adaptive log-softmax output layer; see the module documentation. */
export class ProjectedAdaptiveLogSoftmax extends Module {
  declare cluster_weight: Tensor;
  declare cluster_bias: Tensor;
  declare out_layers: ModuleList<Linear>;
  declare out_projs: ParameterList;
  readonly cutoffs: number[];
  readonly cutoffEnds: number[];
  readonly nClusters: number;

  constructor(readonly nToken: number, readonly dEmbed: number, readonly dProj: number, cutoffs: readonly number[], readonly divVal = 1, o: { dtype?: DType; device?: Device } = {}) {
    super();
    this.cutoffs = [...cutoffs, nToken];
    this.cutoffEnds = [0, ...this.cutoffs];
    this.nClusters = this.cutoffs.length - 1;
    if (this.nClusters > 0) {
      this.registerParameter('cluster_weight', zeros([this.nClusters, dEmbed], o));
      this.registerParameter('cluster_bias', zeros([this.nClusters], o));
    }
    const layers = new ModuleList<Linear>();
    const projs = new ParameterList();
    const init = (shape: number[]): Tensor => randn(shape, o).mul_(0.01);
    if (divVal === 1) {
      for (let i = 0; i < this.cutoffs.length; i++) projs.append(dProj !== dEmbed ? init([dProj, dEmbed]) : null);
      layers.append(new Linear(dEmbed, nToken, o));
    } else {
      for (let i = 0; i < this.cutoffs.length; i++) {
        const d = Math.floor(dEmbed / divVal ** i);
        projs.append(init([dProj, d]));
        layers.append(new Linear(d, this.cutoffEnds[i + 1] - this.cutoffEnds[i], o));
      }
    }
    this.registerModule('out_layers', layers);
    this.registerModule('out_projs', projs);
  }

  /** Cluster i's weight, bias and projection (the head gets the cluster logits appended). */
  private part(i: number): { weight: Tensor; bias: Tensor; proj: Tensor | null } {
    let weight: Tensor;
    let bias: Tensor;
    if (this.divVal === 1) {
      const [lo, hi] = [this.cutoffEnds[i], this.cutoffEnds[i + 1]];
      weight = this.out_layers.at(0).weight.narrow(0, lo, hi - lo);
      bias = this.out_layers.at(0).bias!.narrow(0, lo, hi - lo);
    } else {
      weight = this.out_layers.at(i).weight;
      bias = this.out_layers.at(i).bias!;
    }
    if (i === 0 && this.nClusters > 0) {
      weight = cat([weight, this.cluster_weight], 0);
      bias = cat([bias, this.cluster_bias], 0);
    }
    return { weight, bias, proj: this.out_projs.at(i) };
  }

  private static logit(h: Tensor, p: { weight: Tensor; bias: Tensor; proj: Tensor | null }): Tensor {
    return linear(p.proj ? linear(h, p.proj.t()) : h, p.weight, p.bias);
  }

  /** Negative log-likelihood of each target (N). */
  forward(hidden: Tensor, target: Tensor): Tensor {
    if (this.nClusters === 0) {
      return logSoftmax(ProjectedAdaptiveLogSoftmax.logit(hidden, this.part(0)), -1).gather(1, target.unsqueeze(1)).squeeze(1).neg();
    }
    const head = logSoftmax(ProjectedAdaptiveLogSoftmax.logit(hidden, this.part(0)), 1);
    const headSize = head.shape[1];
    let nll = zeros([target.shape[0]], { dtype: hidden.dtype, device: hidden.device });
    for (let i = 0; i < this.cutoffs.length; i++) {
      const [lo, hi] = [this.cutoffEnds[i], this.cutoffEnds[i + 1]];
      const rows = nonzero(target.ge(lo).logicalAnd(target.lt(hi))).squeeze(1);
      if (rows.shape[0] === 0) continue;
      const t = target.indexSelect(0, rows).sub(lo).unsqueeze(1);
      const headRows = head.indexSelect(0, rows);
      let lp: Tensor;
      if (i === 0) lp = headRows.gather(1, t).squeeze(1);
      else {
        const tail = logSoftmax(ProjectedAdaptiveLogSoftmax.logit(hidden.indexSelect(0, rows), this.part(i)), 1);
        lp = headRows.select(1, headSize - i).add(tail.gather(1, t).squeeze(1));
      }
      nll = scatterAdd(nll, 0, rows, lp.neg());
    }
    return nll;
  }

  /** Log-probabilities of every token (N, nToken). */
  logProbs(hidden: Tensor): Tensor {
    const head = logSoftmax(ProjectedAdaptiveLogSoftmax.logit(hidden, this.part(0)), 1);
    if (this.nClusters === 0) return head;
    const headSize = head.shape[1];
    const parts = [head.narrow(1, 0, this.cutoffs[0])];
    for (let i = 1; i < this.cutoffs.length; i++) {
      const tail = logSoftmax(ProjectedAdaptiveLogSoftmax.logit(hidden, this.part(i)), 1);
      parts.push(tail.add(head.narrow(1, headSize - i, 1)));
    }
    return cat(parts, 1);
  }
}
