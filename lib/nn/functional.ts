/**
 * tn.nn.functional: the stateless layers, as torch.nn.functional (camelCase names).
 */
import { isAutocastEnabled } from '../autocast';
import { DType, dtypeCode, isDType } from '../dtype';
import { checkInt, checkNumber, isInt, typeError } from '../errors';
import { callT, opId } from '../ops/call';
import { Tensor } from '../tensor';

const OP = {
  linear: opId('linear'), layerNorm: opId('layerNorm'), groupNorm: opId('groupNorm'), dropout: opId('dropout'),
  embedding: opId('embedding'), crossEntropy: opId('crossEntropy'), nllLoss: opId('nllLoss'), mseLoss: opId('mseLoss'),
  l1Loss: opId('l1Loss'), smoothL1Loss: opId('smoothL1Loss'), bce: opId('binaryCrossEntropyWithLogits'),
  conv1d: opId('conv1d'), conv2d: opId('conv2d'), maxPool2d: opId('maxPool2d'), avgPool2d: opId('avgPool2d'),
  adaptiveAvgPool2d: opId('adaptiveAvgPool2d'), softmax: opId('softmax'), logSoftmax: opId('logSoftmax'), gelu: opId('gelu'),
  leakyRelu: opId('leakyRelu'), elu: opId('elu'), softplus: opId('softplus'), hardtanh: opId('hardtanh'),
};

function t(where: string, x: unknown): number {
  if (!(x instanceof Tensor)) typeError(where, 'a Tensor', x);
  return x.id;
}
function optT(where: string, x: unknown): number | null {
  return x === undefined || x === null ? null : t(where, x);
}
function dt(where: string, d: DType | undefined): number | null {
  if (d === undefined) return null;
  if (!isDType(d)) typeError(where, 'a dtype', d);
  return dtypeCode(d);
}
function pair(where: string, v: number | readonly number[], n = 2): number[] {
  if (isInt(v)) return new Array<number>(n).fill(v);
  if (Array.isArray(v) && v.length === n && v.every(isInt)) return [...v];
  typeError(where, `an integer or ${n} integers`, v);
}
function probability(where: string, p: number): number {
  checkNumber(where, p);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${where}: expected a probability in [0, 1], but got ${p}`);
  return p;
}

/** How a loss reduces over elements. */
export type Reduction = 'none' | 'mean' | 'sum';

/** y = x·Wᵀ + b, for x (*, in), weight (out, in), bias (out). */
export const linear = (input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor =>
  callT(OP.linear, t('linear', input), t('linear: weight', weight), optT('linear: bias', bias));
/**
 * Layer normalisation over the trailing `normalizedShape` dimensions. Under tn.autocast a
 * bfloat16/float16 input meets float32 parameters: it is normalised in float32 (as torch 2.x's
 * CPU autocast does; libtorch 1.13 would raise a dtype mismatch).
 */
export function layerNorm(input: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  if (!Array.isArray(normalizedShape) || !normalizedShape.every(isInt)) typeError('layerNorm: normalizedShape', 'an array of integers', normalizedShape);
  if (weight && input instanceof Tensor && weight instanceof Tensor && input.dtype !== weight.dtype && (input.dtype === 'bfloat16' || input.dtype === 'float16') && isAutocastEnabled()) {
    const upcast = input.to(weight.dtype);
    try {
      return layerNorm(upcast, normalizedShape, weight, bias, eps);
    } finally {
      upcast.dispose();
    }
  }
  return callT(OP.layerNorm, t('layerNorm', input), [...normalizedShape], optT('layerNorm: weight', weight), optT('layerNorm: bias', bias), checkNumber('layerNorm: eps', eps));
}
/** Group normalisation over channel groups of (N, C, *). */
export const groupNorm = (input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor =>
  callT(OP.groupNorm, t('groupNorm', input), checkInt('groupNorm: numGroups', numGroups, 1), optT('groupNorm: weight', weight), optT('groupNorm: bias', bias), checkNumber('groupNorm: eps', eps));
/** Zeroes elements with probability `p` and scales the rest by 1/(1-p) when `training`. */
export const dropout = (input: Tensor, p = 0.5, training = true): Tensor =>
  callT(OP.dropout, t('dropout', input), probability('dropout: p', p), !!training);
/** Rows of `weight` picked by int64 `indices`. */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx?: number | null): Tensor {
  const w = t('embedding: weight', weight);
  let pad: number | null = null;
  if (paddingIdx != null) {
    // As torch.nn.functional.embedding: a negative padding index counts from the end.
    const rows = weight.shape[0];
    pad = checkInt('embedding: paddingIdx', paddingIdx, -rows, rows - 1);
    if (pad < 0) pad += rows;
  }
  return callT(OP.embedding, w, t('embedding: input', indices), pad);
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-class weights (C). */
  weight?: Tensor;
  /** Target value that contributes nothing (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution (default 0). */
  labelSmoothing?: number;
}
/** Cross-entropy of logits (N, C, ...) against class indices (N, ...) or probabilities. */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return callT(
    OP.crossEntropy, t('crossEntropy', input), t('crossEntropy: target', target), optT('crossEntropy: weight', opts.weight),
    opts.reduction ?? 'mean', checkInt('crossEntropy: ignoreIndex', opts.ignoreIndex ?? -100),
    probability('crossEntropy: labelSmoothing', opts.labelSmoothing ?? 0),
  );
}
/** Negative log-likelihood of log-probabilities. */
export const nllLoss = (input: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor =>
  callT(OP.nllLoss, t('nllLoss', input), t('nllLoss: target', target), optT('nllLoss: weight', opts.weight), opts.reduction ?? 'mean', checkInt('nllLoss: ignoreIndex', opts.ignoreIndex ?? -100));
/** Mean squared error. */
export const mseLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  callT(OP.mseLoss, t('mseLoss', input), t('mseLoss: target', target), reduction);
/** Mean absolute error. */
export const l1Loss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  callT(OP.l1Loss, t('l1Loss', input), t('l1Loss: target', target), reduction);
/** Huber-style smooth L1 loss. */
export const smoothL1Loss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor =>
  callT(OP.smoothL1Loss, t('smoothL1Loss', input), t('smoothL1Loss: target', target), reduction, checkNumber('smoothL1Loss: beta', beta));
/** Binary cross-entropy of logits. */
export const binaryCrossEntropyWithLogits = (input: Tensor, target: Tensor, opts: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor =>
  callT(OP.bce, t('binaryCrossEntropyWithLogits', input), t('binaryCrossEntropyWithLogits: target', target), optT('weight', opts.weight), opts.reduction ?? 'mean', optT('posWeight', opts.posWeight));

/** Options of the convolutions. */
export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}
/** 1-D convolution of (N, C, L). */
export const conv1d = (input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions = {}): Tensor =>
  callT(OP.conv1d, t('conv1d', input), t('conv1d: weight', weight), optT('conv1d: bias', bias), pair('conv1d: stride', o.stride ?? 1, 1), pair('conv1d: padding', o.padding ?? 0, 1), pair('conv1d: dilation', o.dilation ?? 1, 1), checkInt('conv1d: groups', o.groups ?? 1, 1));
/** 2-D convolution of (N, C, H, W). */
export const conv2d = (input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions = {}): Tensor =>
  callT(OP.conv2d, t('conv2d', input), t('conv2d: weight', weight), optT('conv2d: bias', bias), pair('conv2d: stride', o.stride ?? 1), pair('conv2d: padding', o.padding ?? 0), pair('conv2d: dilation', o.dilation ?? 1), checkInt('conv2d: groups', o.groups ?? 1, 1));
/** 2-D max pooling. */
export const maxPool2d = (input: Tensor, kernelSize: number | number[], stride?: number | number[], padding: number | number[] = 0): Tensor =>
  callT(OP.maxPool2d, t('maxPool2d', input), pair('maxPool2d: kernelSize', kernelSize), pair('maxPool2d: stride', stride ?? kernelSize), pair('maxPool2d: padding', padding));
/** 2-D average pooling. */
export const avgPool2d = (input: Tensor, kernelSize: number | number[], stride?: number | number[], padding: number | number[] = 0): Tensor =>
  callT(OP.avgPool2d, t('avgPool2d', input), pair('avgPool2d: kernelSize', kernelSize), pair('avgPool2d: stride', stride ?? kernelSize), pair('avgPool2d: padding', padding));
/** Average pooling to a fixed output size. */
export const adaptiveAvgPool2d = (input: Tensor, outputSize: number | number[]): Tensor =>
  callT(OP.adaptiveAvgPool2d, t('adaptiveAvgPool2d', input), pair('adaptiveAvgPool2d: outputSize', outputSize));

/** Softmax along `dim`. */
export const softmax = (input: Tensor, dim: number, dtype?: DType): Tensor => callT(OP.softmax, t('softmax', input), checkInt('softmax: dim', dim), dt('softmax: dtype', dtype));
/** Log-softmax along `dim`. */
export const logSoftmax = (input: Tensor, dim: number, dtype?: DType): Tensor => callT(OP.logSoftmax, t('logSoftmax', input), checkInt('logSoftmax: dim', dim), dt('logSoftmax: dtype', dtype));
/** GELU; `approximate: 'tanh'` for the tanh approximation. */
export function gelu(input: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh') typeError('gelu: approximate', "'none' or 'tanh'", approximate);
  return callT(OP.gelu, t('gelu', input), approximate);
}
/** Leaky ReLU. */
export const leakyRelu = (input: Tensor, negativeSlope = 0.01): Tensor => callT(OP.leakyRelu, t('leakyRelu', input), checkNumber('leakyRelu: negativeSlope', negativeSlope));
/** ELU. */
export const elu = (input: Tensor, alpha = 1): Tensor => callT(OP.elu, t('elu', input), checkNumber('elu: alpha', alpha));
/** Softplus: log(1 + e^(beta·x)) / beta. */
export const softplus = (input: Tensor, beta = 1, threshold = 20): Tensor => callT(OP.softplus, t('softplus', input), checkNumber('softplus: beta', beta), checkNumber('softplus: threshold', threshold));
/** Clamps to [minVal, maxVal]. */
export const hardtanh = (input: Tensor, minVal = -1, maxVal = 1): Tensor => callT(OP.hardtanh, t('hardtanh', input), checkNumber('hardtanh: minVal', minVal), checkNumber('hardtanh: maxVal', maxVal));
export { relu, sigmoid, silu, tanh } from '../ops/elementwise';
export { scaledDotProductAttention, scaledDotProductAttentionAsync } from './attention';
export type { ScaledDotProductAttentionOptions, AttentionOutput } from './attention';
