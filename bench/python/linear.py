"""Linear layers from Python: the baseline for bench/linear.ts.

torch.nn.functional.linear in float32 (libtorch 1.13 on OpenBLAS), forward under
torch.inference_mode and forward + backward (gradients of x, w and b), for each shape.

    linear.py THREADS CONFIG_JSON   -> {"rows": [{"case", "ms"}], "torch"}
"""
import json
import sys

import torch
import torch.nn.functional as F

from timing import timed  # noqa: E402  (bench/python/timing.py)


def run(threads, cfg):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows = []
    for s in cfg['shapes']:
        m, k, n = s['m'], s['k'], s['n']
        x = torch.randn(m, k)
        w = torch.randn(n, k) / k ** 0.5
        b = torch.randn(n)
        g = torch.randn(m, n)

        def fwd():
            with torch.inference_mode():
                F.linear(x, w, b)
        rows.append({'case': f"{s['name']} fwd", 'ms': timed(fwd, cfg['reps'])})
        xg, wg, bg = x.clone().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_()

        def step():
            F.linear(xg, wg, bg).backward(g)
            xg.grad = wg.grad = bg.grad = None
        rows.append({'case': f"{s['name']} fwd+bwd", 'ms': timed(step, cfg['reps'])})
    return {'rows': rows, 'torch': torch.__version__}


if __name__ == '__main__':
    print(json.dumps(run(int(sys.argv[1]), json.loads(sys.argv[2]))))
