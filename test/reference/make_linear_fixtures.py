"""Fixtures for test/linear.test.ts: torch.nn.functional.linear in float32 (torch 1.13 on
OpenBLAS, the path transformer-native replaces by oneDNN's sgemm) over the shapes transformer
layers use: 2-D, 3-D and 4-D inputs, with and without bias, a transposed (non-contiguous)
input, a single row, a wide output. For each case: the inputs, the output and the gradients
of x, w and b for a fixed upstream gradient g (loss = sum(out * g)).

Run: /usr/bin/python3 test/reference/make_linear_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
torch.set_num_threads(1)
rng = np.random.default_rng(61)

# name: (x shape, out features, bias, transpose x's last two dims before the product)
CASES = {
    'qkv3d': ((2, 49, 96), 288, True, False),
    'mlp2d': ((120, 64), 256, True, False),
    'nobias4d': ((2, 3, 17, 40), 72, False, False),
    'transposed': ((3, 96, 50), 64, True, True),
    'row': ((1, 256), 400, True, False),
    'wide': ((9, 33), 1025, True, False),
}


def f32(*shape):
    return torch.from_numpy(rng.standard_normal(shape)).float()


def main():
    t = {}
    for name, (xs, n, bias, transposed) in CASES.items():
        x = f32(*xs).requires_grad_(True)
        k = xs[-2] if transposed else xs[-1]
        w = (f32(n, k) / np.sqrt(k)).requires_grad_(True)
        b = f32(n).requires_grad_(True) if bias else None
        xin = x.transpose(-1, -2) if transposed else x
        out = F.linear(xin, w, b)
        g = f32(*out.shape)
        (out * g).sum().backward()
        t[f'{name}.x'] = x.detach()
        t[f'{name}.w'] = w.detach()
        t[f'{name}.g'] = g
        t[f'{name}.out'] = out.detach()
        t[f'{name}.dx'] = x.grad
        t[f'{name}.dw'] = w.grad
        if bias:
            t[f'{name}.b'] = b.detach()
            t[f'{name}.db'] = b.grad
    cases = {k: {'transposed': v[3], 'bias': v[2]} for k, v in CASES.items()}
    return t, {'cases': json.dumps(cases), 'torch': torch.__version__}


if __name__ == '__main__':
    tensors, meta = main()
    size = write_safetensors(os.path.join(OUT, 'linear.safetensors'), tensors, meta)
    print(f'linear.safetensors: {len(tensors)} tensors, {size} bytes', meta)
