"""Training steps from Python: the baseline for bench/train.ts.

GPT: test/reference/models_ref.py (this repository's plain-torch GPT, nanoGPT's architecture;
torch 1.13 has no fused attention, so attention is the math path, as nanoGPT falls back to).
ViT: torchvision's VisionTransformer (Debian python3-torchvision). A step is zero_grad,
forward, cross-entropy, backward and torch.optim.AdamW.step() (foreach=False, the default).

    train.py THREADS CONFIG_JSON   -> {"rows": [{"case", "ms"}], "torch"}
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

from timing import timed  # noqa: E402  (bench/python/timing.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
from models_ref import GPT  # noqa: E402


def run(threads, cfg):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows = []
    g = cfg['gpt']
    model = GPT(g['vocabSize'], g['blockSize'], g['nLayer'], g['nHead'], g['nEmbd'])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(0, g['vocabSize'], (g['batch'], g['blockSize']))
    y = torch.randint(0, g['vocabSize'], (g['batch'], g['blockSize']))

    def gpt_step():
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        loss.backward()
        opt.step()
    rows.append({'case': 'gpt', 'ms': timed(gpt_step, cfg['reps'])})

    from torchvision.models import VisionTransformer
    v = cfg['vit']
    vit = VisionTransformer(image_size=v['imageSize'], patch_size=v['patchSize'], num_layers=v['numLayers'], num_heads=v['numHeads'],
                            hidden_dim=v['hiddenDim'], mlp_dim=v['mlpDim'], num_classes=10)
    opt2 = torch.optim.AdamW(vit.parameters(), lr=1e-4)
    xi = torch.rand(v['batch'], 3, v['imageSize'], v['imageSize'])
    yi = torch.randint(0, 10, (v['batch'],))

    def vit_step():
        opt2.zero_grad(set_to_none=True)
        F.cross_entropy(vit(xi), yi).backward()
        opt2.step()
    rows.append({'case': 'vit', 'ms': timed(vit_step, cfg['reps'])})
    return rows


if __name__ == '__main__':
    threads = int(sys.argv[1])
    cfg = json.loads(sys.argv[2])
    print(json.dumps({'rows': run(threads, cfg), 'torch': torch.__version__}))
