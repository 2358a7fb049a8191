/**
 * tn.txl ops against the official Transformer-XL semantics (test/reference/txl_ref.py,
 * fixtures from make_txl_fixtures.py, float64): relShift forward and backward everywhere
 * (the kept region, the zero after it and the next-row values beyond, and zeroTriu), and the
 * relative attention — with and without memory, sameLength, qlen 1 and 37, d 4…64 — on
 * strided views of the official (len, batch, heads, d) layout, output and the gradients of all
 * six inputs; then errors and the positional embedding.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('txl'));
const shifts: Array<{ name: string; zeroTriu: boolean }> = JSON.parse(metadata!.shifts);
const attns: Array<{ name: string; sameLength: boolean; memLen: number }> = JSON.parse(metadata!.attns);

describe.each(shifts.map((s) => [s.name, s] as const))('relShift %s', (name, s) => {
  it('equals the pad-and-view rel_shift, forward and backward', () => {
    const x = F[`${name}.in.x`].clone().requiresGrad_();
    const y = tn.txl.relShift(x, { zeroTriu: s.zeroTriu });
    expectClose(y, F[`${name}.out`], 0, 0);
    y.backward(F[`${name}.gout`]);
    expectClose(x.grad!, F[`${name}.grad.x`], 1e-12, 1e-12);
  });
});

it('relShift reads a contiguous view at a storage offset correctly', () => {
  const base = tn.randn([9, 8, 2], { dtype: 'float64' });
  const view = base.narrow(0, 3, 5); // contiguous, storage offset 48
  expect(view.isContiguous()).toBe(true);
  expect(view.storageOffset()).toBe(48);
  expectClose(tn.txl.relShift(view), tn.txl.relShift(view.clone()), 0, 0);
});

describe.each(attns.map((a) => [a.name, a] as const))('relativePositionalAttention %s', (name, a) => {
  it('equals AC + rel_shift(BD), masked softmax, ·v — output and all six gradients', () => {
    const leaf = (k: string): Tensor => F[`${name}.in.${k}`].clone().requiresGrad_();
    const [q, k, v, r, rw, rr] = ['q', 'k', 'v', 'r', 'rw', 'rr'].map(leaf);
    // Official layout (len, B, H, d) → (B, H, len, d) as views; r (klen, H, d) → (H, klen, d).
    const bhld = (t: Tensor): Tensor => t.permute(1, 2, 0, 3);
    const out = tn.txl.relativePositionalAttention(bhld(q), bhld(k), bhld(v), r.permute(1, 0, 2), rw, rr, { sameLength: a.sameLength, memLen: a.memLen });
    const official = out.permute(2, 0, 1, 3);
    expectClose(official, F[`${name}.out`], 1e-10, 1e-9);
    official.backward(F[`${name}.gout`]);
    for (const [n, t] of [['q', q], ['k', k], ['v', v], ['r', r], ['rw', rw], ['rr', rr]] as const) expectClose(t.grad!, F[`${name}.grad.${n}`], 1e-9, 1e-8);
  });
});

describe('relative attention: async, errors, positions', () => {
  const a = attns[1];
  const get = (n: string): Tensor => F[`${a.name}.in.${n}`];
  const bhld = (t: Tensor): Tensor => t.permute(1, 2, 0, 3);

  it('the async form gives the same output', async () => {
    const out = await tn.txl.relativePositionalAttentionAsync(bhld(get('q')), bhld(get('k')), bhld(get('v')), get('r').permute(1, 0, 2), get('rw'), get('rr'));
    expectClose(out.permute(2, 0, 1, 3), F[`${a.name}.out`], 1e-10, 1e-9);
  });

  it('refuses shapes that do not fit, naming them', () => {
    const [q, k, v] = ['q', 'k', 'v'].map((n) => bhld(get(n)));
    const r = get('r').permute(1, 0, 2);
    const [rw, rr] = [get('rw'), get('rr')];
    const f = tn.txl.relativePositionalAttention;
    expectThrows(() => f(q.select(0, 0), k, v, r, rw, rr), 'RangeError', /q: expected \(B, H, qlen, d\), but got shape \[2, 5, 8\]/);
    expectThrows(() => f(q, k.narrow(3, 0, 4), v, r, rw, rr), 'RangeError', /k: expected \(2, 2, klen, 8\)/);
    expectThrows(() => f(q, k, v, r.narrow(1, 0, 5), rw, rr), 'RangeError', /r: expected the projected positions \(2, 12, 8\)/);
    expectThrows(() => f(q, k, v, r, rw.narrow(0, 0, 1), rr), 'RangeError', /rwBias: expected \(2, 8\)/);
    expectThrows(() => f(k, q, q, r, rw, rr), 'RangeError', /klen \(memory \+ segment\) ≥ qlen/);
    expectThrows(() => f(q, k, v, r.to('float32'), rw, rr), 'TypeError', /r: expected dtype float64 like q, but got float32/);
    expectThrows(() => tn.txl.relShift(tn.zeros([3])), 'RangeError', /at least 2 dimensions/);
    expectThrows(() => tn.txl.relShift(tn.zeros([7, 3])), 'RangeError', /klen ≥ qlen/);
  });

  it('relativePositions: sinusoids of klen−1 … 0, clamped', () => {
    const p = tn.txl.relativePositions(6, 8, { clampLen: 3, dtype: 'float64' });
    expect(p.shape).toEqual([6, 1, 8]);
    const pos = [3, 3, 3, 2, 1, 0];
    const want = pos.map((x) => [0, 2, 4, 6].map((i) => x / 10000 ** (i / 8))).map((xs) => [...xs.map(Math.sin), ...xs.map(Math.cos)]);
    expectClose(p.view(6, 8), tn.tensor(want, { dtype: 'float64' }), 1e-12, 1e-12);
  });
});
