"""PyTorch's attention from Python: the baseline for bench/attention.ts.

Run by the Node benchmark with /usr/bin/python3 (Debian python3-torch 1.13, the libtorch the
addon links) and the same thread settings (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
torch.set_num_threads). The path is torch.nn.functional._scaled_dot_product_attention(q, k,
v, None, 0.0, False, is_causal): 1.13's math path, which materialises the N x N scores.

    attention.py time THREADS CONFIG_JSON   -> {"sgemm_gflops", "rows": [{n, causal, mode, ms}]}
    attention.py mem N CAUSAL               -> {"extra_bytes"}: peak RSS growth of one forward
                                               beyond its output, in this fresh process

CONFIG_JSON: {"sizes": [...], "reps": {"<n>": r}, "heads": 8, "dim": 64}. Prints one JSON line.
"""
import json
import sys
import time

import torch

from timing import median, timed  # noqa: E402  (bench/python/timing.py)
import torch.nn.functional as F




def sgemm_gflops():
    a = torch.randn(1024, 1024)
    ms = timed(lambda: a @ a, 5, 1)
    return 2 * 1024 ** 3 / ms / 1e6


def run_time(threads, cfg):
    torch.set_num_threads(threads)
    H, d = cfg.get('heads', 8), cfg.get('dim', 64)
    rows = []
    for n in cfg['sizes']:
        reps = int(cfg.get('reps', {}).get(str(n), 3))
        warmup = 1 if n <= 2048 else 0
        q, k, v = (torch.randn(1, H, n, d) for _ in range(3))
        for causal in (False, True):
            with torch.no_grad():
                ms = timed(lambda: F._scaled_dot_product_attention(q, k, v, None, 0.0, False, causal), reps, warmup)
            rows.append(dict(n=n, causal=causal, mode='fwd', ms=ms))
            if n in cfg.get('backward', cfg['sizes']):
                qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))
                g = torch.randn(1, H, n, d)

                def step():
                    out = F._scaled_dot_product_attention(qg, kg, vg, None, 0.0, False, causal)[0]
                    out.backward(g)
                    qg.grad = kg.grad = vg.grad = None

                rows.append(dict(n=n, causal=causal, mode='fwd+bwd', ms=timed(step, reps, warmup)))
    return dict(sgemm_gflops=sgemm_gflops(), rows=rows, torch=torch.__version__)


def status(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def run_mem(n, causal):
    torch.set_num_threads(1)
    q, k, v = (torch.randn(1, 8, n, 64) for _ in range(3))
    with torch.no_grad():
        F._scaled_dot_product_attention(q[:, :, :8], k[:, :, :8], v[:, :, :8], None, 0.0, False, causal)  # load the code paths
        base = status('VmRSS')
        with open('/proc/self/clear_refs', 'w') as f:  # resets VmHWM to the current RSS (Linux >= 4.0)
            f.write('5')
        out = F._scaled_dot_product_attention(q, k, v, None, 0.0, False, causal)[0]
        peak = status('VmHWM')
    return dict(extra_bytes=peak - base - out.numel() * out.element_size())


if __name__ == '__main__':
    if sys.argv[1] == 'time':
        print(json.dumps(run_time(int(sys.argv[2]), json.loads(sys.argv[3]))))
    elif sys.argv[1] == 'mem':
        print(json.dumps(run_mem(int(sys.argv[2]), sys.argv[3] == 'true')))
    else:
        raise SystemExit(f'unknown mode {sys.argv[1]}')
