"""Fixtures for test/autocast.test.ts: a small MLP, a matmul, layer_norm and softmax run under
torch.autocast('cpu', dtype=torch.bfloat16) (torch 1.13), with the output dtypes, values and
the float32 parameters' gradients.

Run: /usr/bin/python3 test/reference/make_autocast_fixtures.py
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
rng = np.random.default_rng(51)


def f32(*shape):
    return torch.from_numpy(rng.standard_normal(shape)).float()


def main():
    x, w1, b1, w2, b2 = f32(5, 8), f32(16, 8), f32(16), f32(4, 16), f32(4)
    a, b = f32(4, 6), f32(6, 3)
    ln_w, ln_b = f32(16), f32(16)
    params = [w1, b1, w2, b2, ln_w, ln_b]
    for p in params:
        p.requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        h = F.linear(x, w1, b1)
        g = F.gelu(h)
        n = F.layer_norm(g.float(), (16,), ln_w, ln_b)  # torch 1.13 CPU autocast does not cast layer_norm's input (tn does, as torch 2.x)
        out = F.linear(n, w2, b2)
        mm = a @ b
        sm = torch.softmax(out, -1)
    loss = out.float().pow(2).sum()
    loss.backward()
    t = {'x': x, 'w1': w1.detach(), 'b1': b1.detach(), 'w2': w2.detach(), 'b2': b2.detach(), 'a': a, 'b': b, 'ln_w': ln_w.detach(), 'ln_b': ln_b.detach(),
         'h': h.detach(), 'g': g.detach(), 'n': n.detach(), 'out': out.detach(), 'mm': mm, 'sm': sm.detach()}
    for name, p in zip(['w1', 'b1', 'w2', 'b2', 'ln_w', 'ln_b'], params):
        t[f'grad.{name}'] = p.grad
    dtypes = {k: str(v.dtype).replace('torch.', '') for k, v in t.items()}
    return t, {'dtypes': json.dumps(dtypes)}


if __name__ == '__main__':
    tensors, meta = main()
    size = write_safetensors(os.path.join(OUT, 'autocast.safetensors'), tensors, meta)
    print(f'autocast.safetensors: {len(tensors)} tensors, {size} bytes', meta)
