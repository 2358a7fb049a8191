/**
 * Swin Transformer V2 (tn.swin.SwinTransformerV2, SwinTransformerBlock with version 2) against a
 * plain-torch re-implementation of the official swin_transformer_v2.py semantics
 * (test/reference/swin_v2_ref.py; fixtures from make_swin_v2_fixtures.py, float64): official V2
 * state-dict keys load strictly; outputs and the gradients of the input and every parameter
 * (logit scale, q/v biases, the continuous-position-bias MLP, post-norms) match, for an
 * unshifted and a shifted block and a two-stage model.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, fixturePath } from './helpers';

const all = tn.loadSafetensors(fixturePath('swin_v2'));

function parts(name: string): { sd: Record<string, Tensor>; grads: Record<string, Tensor> } {
  const sd: Record<string, Tensor> = {};
  const grads: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(all)) {
    if (k.startsWith(`${name}.sd.`)) sd[k.slice(name.length + 4)] = t;
    if (k.startsWith(`${name}.grad.`) && k !== `${name}.grad.x`) grads[k.slice(name.length + 6)] = t;
  }
  return { sd, grads };
}

const builders: Record<string, () => tn.nn.Module & { forward(x: Tensor): Tensor }> = {
  v2_block_s0: () => new tn.swin.SwinTransformerBlock({ dim: 16, inputResolution: 8, numHeads: 2, windowSize: 4, shiftSize: 0, version: 2, dtype: 'float64' }),
  v2_block_s2: () => new tn.swin.SwinTransformerBlock({ dim: 16, inputResolution: 8, numHeads: 2, windowSize: 4, shiftSize: 2, version: 2, dtype: 'float64' }),
  v2_model: () => new tn.swin.SwinTransformerV2({ imgSize: 32, patchSize: 4, inChans: 3, numClasses: 5, embedDim: 16, depths: [2, 2], numHeads: [2, 4], windowSize: 4, dropPathRate: 0, dtype: 'float64' }),
};

describe.each(Object.keys(builders))('Swin V2 against the reference: %s', (name) => {
  it('loads the official V2 keys strictly; output and all gradients match', () => {
    const m = builders[name]();
    const { sd, grads } = parts(name);
    expect(Object.keys(tn.tidy(() => m.stateDict()))).toEqual(Object.keys(sd)); // the official order too
    m.loadStateDict(sd, { strict: true });
    const x = all[`${name}.x`].clone().requiresGrad_();
    const out = m.forward(x);
    expectClose(out, all[`${name}.out`], 1e-9, 1e-8);
    out.backward(all[`${name}.gout`]);
    expectClose(x.grad!, all[`${name}.grad.x`], 1e-9, 1e-8);
    const params = Object.fromEntries(m.namedParameters());
    expect(Object.keys(params).sort()).toEqual(Object.keys(grads).sort());
    for (const [k, g] of Object.entries(grads)) expectClose(params[k].grad!, g, 1e-9, 1e-8);
    m.dispose();
  });
});

it('V2 blocks start as the identity (post-norms initialised to zero)', () => {
  const b = new tn.swin.SwinTransformerBlock({ dim: 16, inputResolution: 8, numHeads: 2, windowSize: 4, shiftSize: 2, version: 2 });
  const x = tn.randn([2, 64, 16]);
  expectClose(b.forward(x), x, 0, 0);
  b.dispose();
});
