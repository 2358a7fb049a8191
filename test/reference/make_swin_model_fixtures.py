#!/usr/bin/python3
"""Writes test/fixtures/swin_model.safetensors, the reference of test/swin_model.test.ts.

    npm run fixtures:swin-model    # = /usr/bin/python3 test/reference/make_swin_model_fixtures.py

The model is test/reference/swin_model_ref.py (the official module tree and op order, written
here). Cases, float64, every parameter perturbed so that biases and norms matter:
  <case>.sd.<official state_dict key>   the checkpoint (buffers included)
  <case>.x / <case>.out / <case>.gout   input, output, upstream gradient
  <case>.grad.x / <case>.grad.<key>     gradients of sum(out * gout)
Cases: block_s0 (8x8, window 4, no shift), block_s2 (shift 2), block_rule (4x4 with window 7,
shift 3: the stage rule makes it window 4, no shift), model (56x56 images, patch 4, embed 24,
depths [2, 2], heads [1, 2], window 7, 10 classes: stage 1 14x14 shifted, stage 2 7x7 where
the rule removes the shift). Seeded: a re-run writes the same bytes.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT, write_safetensors  # noqa: E402
from swin_model_ref import SwinTransformer, SwinTransformerBlock  # noqa: E402

F64 = torch.float64


def record(tensors, name, model, x):
    torch.manual_seed(len(tensors))
    model = model.to(F64)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    for k, v in model.state_dict().items():
        tensors[f'{name}.sd.{k}'] = v.clone()
    x = x.to(F64).requires_grad_(True)
    out = model(x)
    gout = torch.randn_like(out)
    (out * gout).sum().backward()
    tensors[f'{name}.x'] = x.detach().clone()
    tensors[f'{name}.out'] = out.detach().clone()
    tensors[f'{name}.gout'] = gout
    tensors[f'{name}.grad.x'] = x.grad.clone()
    for k, p in model.named_parameters():
        tensors[f'{name}.grad.{k}'] = p.grad.clone()


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    t = {}
    record(t, 'block_s0', SwinTransformerBlock(16, (8, 8), 2, ws=4, shift=0), torch.randn(2, 64, 16))
    record(t, 'block_s2', SwinTransformerBlock(16, (8, 8), 2, ws=4, shift=2), torch.randn(2, 64, 16))
    record(t, 'block_rule', SwinTransformerBlock(16, (4, 4), 2, ws=7, shift=3), torch.randn(2, 16, 16))
    m = SwinTransformer(img=56, patch=4, in_chans=3, num_classes=10, embed=24, depths=(2, 2), heads=(1, 2), ws=7, dpr=0.0)
    record(t, 'model', m, torch.randn(2, 3, 56, 56))
    path = os.path.join(OUT, 'swin_model.safetensors')
    size = write_safetensors(path, t, {'cases': 'block_s0,block_s2,block_rule,model'})
    print(f'{path}: {len(t)} tensors, {size} bytes')
    assert size < 4 * 1024 * 1024


if __name__ == '__main__':
    sys.exit(main())
