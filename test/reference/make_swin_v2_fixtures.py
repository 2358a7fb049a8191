"""Fixtures for test/swin_v2.test.ts: Swin V2 blocks (unshifted, shifted) and a small
SwinTransformerV2 of test/reference/swin_v2_ref.py in float64 with perturbed weights: state
dicts (official V2 keys), outputs, and the gradients of the input and every parameter.

Run: /usr/bin/python3 test/reference/make_swin_v2_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT, write_safetensors  # noqa: E402
from make_swin_model_fixtures import record  # noqa: E402
from swin_v2_ref import SwinTransformerBlockV2, SwinTransformerV2  # noqa: E402


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    t = {}
    record(t, 'v2_block_s0', SwinTransformerBlockV2(16, (8, 8), 2, ws=4, shift=0), torch.randn(2, 64, 16))
    record(t, 'v2_block_s2', SwinTransformerBlockV2(16, (8, 8), 2, ws=4, shift=2), torch.randn(2, 64, 16))
    m = SwinTransformerV2(img=32, patch=4, in_chans=3, num_classes=5, embed=16, depths=(2, 2), heads=(2, 4), ws=4)
    record(t, 'v2_model', m, torch.randn(2, 3, 32, 32))
    path = os.path.join(OUT, 'swin_v2.safetensors')
    size = write_safetensors(path, t, {'cases': 'v2_block_s0,v2_block_s2,v2_model'})
    print(f'{path}: {len(t)} tensors, {size} bytes')


if __name__ == '__main__':
    sys.exit(main())
