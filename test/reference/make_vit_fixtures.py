"""Fixtures for test/models_vit.test.ts: torchvision's VisionTransformer (torchvision 0.14,
Debian python3-torchvision) in float64 with random weights — its state dict, the logits of a
batch, and the gradients of the input and of every parameter for a random upstream gradient.

Run: /usr/bin/python3 test/reference/make_vit_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch
from torchvision.models import VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
torch.set_num_threads(1)


def vit_cases():
    rng = np.random.default_rng(21)
    tensors, cases = {}, []
    for name, cfg, N in [
        ('vit', dict(image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5), 3),
        ('vit_p8', dict(image_size=16, patch_size=8, num_layers=1, num_heads=4, hidden_dim=32, mlp_dim=24, num_classes=3), 2),
    ]:
        model = VisionTransformer(**cfg).double().eval()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))) * 0.3)
        for k, v in model.state_dict().items():
            tensors[f'{name}.sd.{k}'] = v.clone()
        x = torch.from_numpy(rng.standard_normal((N, 3, cfg['image_size'], cfg['image_size']))).requires_grad_(True)
        out = model(x)
        g = torch.from_numpy(rng.standard_normal(tuple(out.shape)))
        out.backward(g)
        tensors[f'{name}.in.x'] = x.detach()
        tensors[f'{name}.out'] = out.detach()
        tensors[f'{name}.gout'] = g
        tensors[f'{name}.grad.x'] = x.grad
        for k, p in model.named_parameters():
            tensors[f'{name}.grad.{k}'] = p.grad.clone()
        cases.append({'name': name, 'config': cfg})
    return tensors, {'cases': json.dumps(cases)}


if __name__ == '__main__':
    t, meta = vit_cases()
    size = write_safetensors(os.path.join(OUT, 'models_vit.safetensors'), t, meta)
    print(f'models_vit.safetensors: {len(t)} tensors, {size} bytes')
