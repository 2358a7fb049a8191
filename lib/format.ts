/**
 * PyTorch-style printing (torch/_tensor_str.py defaults: precision 4, threshold 1000,
 * edgeitems 3, linewidth 80): `tensor([[1.0000, 2.5000], [3.0000, 4.0000]], dtype=torch.float64)`.
 */
import type { Tensor } from './tensor';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE = 3;
const LINEWIDTH = 80;

type Cell = number | boolean | bigint;

function pyExp(v: number): string {
  // Python writes two-digit exponents: 1.0000e+05, JS 1.0000e+5.
  return v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2');
}

function makeFormatter(values: Cell[], floating: boolean): (v: Cell) => string {
  if (!floating) {
    const str = (v: Cell): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));
    const width = values.reduce<number>((w, v) => Math.max(w, str(v).length), 0);
    return (v) => str(v).padStart(width);
  }
  const nums = values as number[];
  const finite = nums.filter((v) => Number.isFinite(v) && v !== 0).map(Math.abs);
  const special = (v: number): string | undefined => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : undefined);
  let fmt: (v: number) => string;
  if (finite.length === 0) {
    fmt = (v) => special(v) ?? `${v.toFixed(0)}.`;
  } else {
    const max = Math.max(...finite);
    const min = Math.min(...finite);
    const intMode = finite.every((v) => Math.ceil(v) === v);
    if (intMode) {
      fmt = max / min > 1000 || max > 1e8 ? (v) => special(v) ?? pyExp(v) : (v) => special(v) ?? `${v.toFixed(0)}.`;
    } else {
      fmt = max / min > 1000 || max > 1e8 || min < 1e-4 ? (v) => special(v) ?? pyExp(v) : (v) => special(v) ?? v.toFixed(PRECISION);
    }
  }
  const normalise = (v: Cell): string => {
    const s = fmt(Number(v));
    return Object.is(Number(v), -0) && !s.startsWith('-') ? `-${s}` : s; // Python prints -0. for negative zero
  };
  const width = nums.filter((v) => Number.isFinite(Number(v)) && Number(v) !== 0).reduce<number>((w, v) => Math.max(w, normalise(v).length), 1); // as torch's _Formatter: non-zero finite values only
  return (v) => normalise(v).padStart(width);
}

/** Formats nested data of `shape`; `get(i)` reads flat element i. */
function body(shape: number[], get: (i: number) => Cell, floating: boolean, indent: number): string {
  const numel = shape.reduce((a, b) => a * b, 1);
  const summarize = numel > THRESHOLD;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  // Indices shown along each dimension (with -1 marking the '...').
  const shown = shape.map((n) => (summarize && n > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)] : [...Array(n).keys()]));
  const visible: Cell[] = [];
  const collect = (d: number, offset: number): void => {
    if (d === shape.length) {
      visible.push(get(offset));
      return;
    }
    for (const i of shown[d]) if (i >= 0) collect(d + 1, offset + i * strides[d]);
  };
  collect(0, 0);
  const format = makeFormatter(visible, floating);
  if (shape.length === 0) return format(get(0)).trim();

  const render = (d: number, offset: number, ind: number): string => {
    if (d === shape.length - 1) {
      const items = shown[d].map((i) => (i < 0 ? ' ...' : format(get(offset + i * strides[d])))); // ' ...' as torch/_tensor_str.py
      const elemWidth = Math.max(...items.map((s) => s.length)) + 2;
      const perLine = Math.max(1, Math.floor((LINEWIDTH - ind) / elemWidth));
      const lines: string[] = [];
      for (let k = 0; k < items.length; k += perLine) lines.push(items.slice(k, k + perLine).join(', '));
      return `[${lines.join(',\n' + ' '.repeat(ind + 1))}]`;
    }
    const parts = shown[d].map((i) => (i < 0 ? '...' : render(d + 1, offset + i * strides[d], ind + 1)));
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(ind + 1);
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, indent);
}

/** The PyTorch repr of a tensor. */
export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const dtype = t.dtype;
  const device = t.device;
  const floating = dtype.startsWith('float') || dtype === 'bfloat16';
  const suffix: string[] = [];
  const numel = shape.reduce((a, b) => a * b, 1);
  let text: string;
  if (numel === 0) {
    text = '[]';
    if (shape.length !== 1) suffix.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  } else {
    const data = t.toTypedArray({ copy: true });
    const get = (i: number): Cell => (dtype === 'bool' ? data[i] !== 0 : (data[i] as number | bigint));
    text = body(shape, get, floating, 'tensor('.length);
  }
  if (device !== 'cpu') suffix.push(`device='${device}'`);
  if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'bool') suffix.push(`dtype=torch.${dtype}`);
  else if (numel === 0 && dtype !== 'float32') suffix.push(`dtype=torch.${dtype}`);
  const gradFn = t.gradFn;
  if (gradFn) suffix.push(`grad_fn=<${gradFn}>`);
  else if (t.requiresGrad) suffix.push('requires_grad=True');
  return `tensor(${[text, ...suffix].join(', ')})`;
}
