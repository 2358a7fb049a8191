/**
 * tn.models.ViT against torchvision's VisionTransformer (fixtures from
 * test/reference/make_vit_fixtures.py, float64): the same state-dict keys, logits, and the
 * gradients of the input and every parameter; then shape errors.
 */
import * as tn from '../lib';
import type { Tensor } from '../lib';
import { expectClose, expectThrows, fixturePath } from './helpers';

interface Case {
  name: string;
  config: { image_size: number; patch_size: number; num_layers: number; num_heads: number; hidden_dim: number; mlp_dim: number; num_classes: number };
}

const { tensors: F, metadata } = tn.loadSafetensorsWithMetadata(fixturePath('models_vit'));
const cases: Case[] = JSON.parse(metadata!.cases);

function build(c: Case): tn.models.ViT {
  const k = c.config;
  const vit = new tn.models.ViT({ imageSize: k.image_size, patchSize: k.patch_size, numLayers: k.num_layers, numHeads: k.num_heads, hiddenDim: k.hidden_dim, mlpDim: k.mlp_dim, numClasses: k.num_classes, dtype: 'float64' });
  const sd: Record<string, Tensor> = {};
  for (const [key, v] of Object.entries(F)) if (key.startsWith(`${c.name}.sd.`)) sd[key.slice(c.name.length + 4)] = v;
  vit.loadStateDict(sd, { strict: true });
  return vit.eval();
}

describe.each(cases.map((c) => [c.name, c] as const))('ViT against torchvision: %s', (name, c) => {
  it('has torchvision state-dict keys, in order', () => {
    const vit = build(c);
    const keys = Object.keys(F).filter((k) => k.startsWith(`${name}.sd.`)).map((k) => k.slice(name.length + 4));
    expect(Object.keys(tn.tidy(() => vit.stateDict()))).toEqual(keys);
    vit.dispose();
  });

  it('logits and the gradients of the input and every parameter', () => {
    const vit = build(c);
    const x = F[`${name}.in.x`].clone().requiresGrad_();
    const out = vit.forward(x);
    expectClose(out, F[`${name}.out`], 1e-9, 1e-9);
    out.backward(F[`${name}.gout`]);
    expectClose(x.grad!, F[`${name}.grad.x`], 1e-9, 1e-8);
    for (const [k, p] of vit.namedParameters()) expectClose(p.grad!, F[`${name}.grad.${k}`], 1e-9, 1e-8);
    vit.dispose();
  });
});

describe('ViT options and errors', () => {
  it('reads greyscale with inChannels 1 and refuses wrong shapes', () => {
    const vit = new tn.models.ViT({ imageSize: 28, patchSize: 7, numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32, numClasses: 10, inChannels: 1 });
    expect(vit.forward(tn.zeros([2, 1, 28, 28])).shape).toEqual([2, 10]);
    expectThrows(() => vit.forward(tn.zeros([2, 3, 28, 28])), 'RangeError', /expected images of shape \(N, 1, 28, 28\), but got \[2, 3, 28, 28\]/);
    expectThrows(() => new tn.models.ViT({ imageSize: 28, patchSize: 5, numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32 }), 'RangeError', /divisible by patchSize/);
    vit.dispose();
  });
});
