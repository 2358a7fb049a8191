"""Fixtures for test/txl_ops.test.ts: the Transformer-XL rel_shift and relative attention of
test/reference/txl_ref.py (the official semantics) in float64, with the gradients of every
input for a random upstream gradient.

Run: /usr/bin/python3 test/reference/make_txl_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402
from txl_ref import dec_attn_mask, rel_attention_core, rel_shift  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
torch.set_num_threads(1)
RNG = np.random.default_rng(31)


def randn(*shape):
    return torch.from_numpy(RNG.standard_normal(shape))


def main():
    tensors, shifts, attns = {}, [], []
    for name, shape, zero_triu in [('s1', (5, 8, 2, 3), False), ('s2', (5, 8, 2, 3), True), ('s3', (1, 4, 2), False),
                                   ('s4', (6, 6, 3), False), ('s5', (4, 9), False), ('s6', (3, 7, 2), True)]:
        x = randn(*shape).requires_grad_(True)
        y = rel_shift(x, zero_triu)
        g = randn(*y.shape)
        y.backward(g)
        tensors.update({f'{name}.in.x': x.detach(), f'{name}.out': y.detach(), f'{name}.gout': g, f'{name}.grad.x': x.grad})
        shifts.append({'name': name, 'zeroTriu': zero_triu})
    for name, qlen, mlen, B, H, d, same, mem_len in [
        ('a1', 5, 0, 2, 2, 8, False, 0), ('a2', 5, 7, 2, 2, 8, False, 7), ('a3', 5, 6, 1, 3, 4, True, 6),
        ('a4', 1, 9, 2, 2, 8, False, 9), ('a5', 37, 20, 1, 2, 16, False, 20), ('a6', 8, 3, 2, 1, 64, True, 3),
        ('a7', 12, 0, 1, 2, 8, True, 4),
    ]:
        klen = qlen + mlen
        ins = {'q': randn(qlen, B, H, d), 'k': randn(klen, B, H, d), 'v': randn(klen, B, H, d), 'r': randn(klen, H, d),
               'rw': randn(H, d), 'rr': randn(H, d)}
        leaves = {k: v.clone().requires_grad_(True) for k, v in ins.items()}
        mask = dec_attn_mask(qlen, mlen, same, mem_len)
        out = rel_attention_core(leaves['q'], leaves['k'], leaves['v'], leaves['r'], leaves['rw'], leaves['rr'], mask, d ** -0.5)
        g = randn(*out.shape)
        out.backward(g)
        for k, v in ins.items():
            tensors[f'{name}.in.{k}'] = v
            tensors[f'{name}.grad.{k}'] = leaves[k].grad
        tensors[f'{name}.out'] = out.detach()
        tensors[f'{name}.gout'] = g
        attns.append({'name': name, 'sameLength': same, 'memLen': mem_len})
    return tensors, {'shifts': json.dumps(shifts), 'attns': json.dumps(attns)}


if __name__ == '__main__':
    t, meta = main()
    size = write_safetensors(os.path.join(OUT, 'txl.safetensors'), t, meta)
    print(f'txl.safetensors: {len(t)} tensors, {size} bytes')
