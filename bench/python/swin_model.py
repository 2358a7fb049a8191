"""Swin-T from Python: the baseline for bench/swin_model.ts.

The model is test/reference/swin_model_ref.py (this repository's own PyTorch Swin Transformer,
written op for op like the official microsoft/Swin-Transformer models/swin_transformer.py:
torch.roll + view/permute partition, unfused window attention with the bias gather and the
-100 mask, PatchMerging by strided slices + cat). Run by the Node benchmark with
/usr/bin/python3 (Debian python3-torch 1.13, the libtorch the addon links) and the same
thread settings.

    swin_model.py THREADS CONFIG_JSON   -> {"rows": [{"case", "ms"}], "torch"}

CONFIG_JSON: {"img", "trainBatch", "reps": {"fwd1", "fwd8", "train"}, "dropPathRate"}.
"""
import json
import os
import sys
import time

import torch

from timing import median, timed  # noqa: E402  (bench/python/timing.py)
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
from swin_model_ref import SwinTransformer  # noqa: E402




def run(threads, cfg):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    img = cfg['img']
    model = SwinTransformer(img=img, dpr=cfg['dropPathRate'])  # Swin-T: embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7
    rows = []
    model.eval()
    for b, key in ((1, 'fwd1'), (8, 'fwd8')):
        x = torch.randn(b, 3, img, img)

        def fwd():
            with torch.inference_mode():
                model(x)
        rows.append({'case': f'forward b{b}', 'ms': timed(fwd, cfg['reps'][key])})
    model.train()
    B = cfg['trainBatch']
    x = torch.randn(B, 3, img, img)
    y = torch.randint(0, 1000, (B,))

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        model.zero_grad(set_to_none=True)
    rows.append({'case': 'train step', 'ms': timed(step, cfg['reps']['train'])})
    return {'rows': rows, 'torch': torch.__version__}


if __name__ == '__main__':
    print(json.dumps(run(int(sys.argv[1]), json.loads(sys.argv[2]))))
