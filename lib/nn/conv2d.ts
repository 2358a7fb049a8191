/**
 * Conv2d: 2-D convolution, as torch.nn.Conv2d.
 *
 *   y[n, o] = bias[o] + Σ_{c in group(o)} weight[o, c] ⋆ x[n, c]
 *
 * Shapes: x (N, inChannels, H, W) → y (N, outChannels, H', W') with
 * H' = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1 (W' alike); weight
 * (outChannels, inChannels / groups, kH, kW), bias (outChannels). Initialised as PyTorch
 * (Kaiming-uniform with a = √5: weight and bias uniform in ±1/√fanIn, fanIn =
 * inChannels / groups · kH · kW). State-dict keys: `weight`, `bias`.
 *
 * @example
 * const conv = new tn.nn.Conv2d(3, 16, 3, { padding: 1 });
 * const y = conv.forward(tn.randn([8, 3, 28, 28]));   // (8, 16, 28, 28)
 */
import type { Device } from '../creation';
import type { DType } from '../dtype';
import { checkBool, checkInt, isInt, typeError } from '../errors';
import type { Tensor } from '../tensor';
import { conv2d } from './functional';
import { uniformParameter } from './linear';
import { Module } from './module';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Step of the kernel (default 1). */
  stride?: number | [number, number];
  /** Zero padding on each side (default 0). */
  padding?: number | [number, number];
  /** Spacing of the kernel taps (default 1). */
  dilation?: number | [number, number];
  /** Channel groups; inChannels and outChannels must be multiples (default 1). */
  groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Parameter device (default 'cpu'). */
  device?: Device;
}

function pair(where: string, v: unknown, min: number): [number, number] {
  const p = isInt(v) ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => isInt(x) && x >= min)) typeError(where, `an integer >= ${min} or two of them`, v);
  return [p[0], p[1]];
}

/** A 2-D convolution; see the module documentation. */
export class Conv2d extends Module {
  /** (outChannels, inChannels / groups, kH, kW). */
  declare weight: Tensor;
  /** (outChannels), or null without bias. */
  declare bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions = {}) {
    super();
    this.inChannels = checkInt('Conv2d: inChannels', inChannels, 1);
    this.outChannels = checkInt('Conv2d: outChannels', outChannels, 1);
    this.kernelSize = pair('Conv2d: kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d: stride', opts.stride ?? 1, 1);
    this.padding = pair('Conv2d: padding', opts.padding ?? 0, 0);
    this.dilation = pair('Conv2d: dilation', opts.dilation ?? 1, 1);
    this.groups = checkInt('Conv2d: groups', opts.groups ?? 1, 1);
    if (inChannels % this.groups !== 0) throw new RangeError(`Conv2d: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new RangeError(`Conv2d: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    const bias = checkBool('Conv2d: bias', opts.bias ?? true);
    const fanIn = (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.registerParameter('weight', uniformParameter([outChannels, inChannels / this.groups, ...this.kernelSize], bound, opts));
    this.registerParameter('bias', bias ? uniformParameter([outChannels], bound, opts) : null);
  }

  /** The convolution of (N, C, H, W). */
  forward(input: Tensor): Tensor {
    return conv2d(input, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    const t = (p: [number, number]): string => `(${p[0]}, ${p[1]})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${t(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    return s;
  }
}
