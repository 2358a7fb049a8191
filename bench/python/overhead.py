"""Per-op overhead of PyTorch from Python: the baseline for bench/overhead.ts.

Run by the Node benchmark with /usr/bin/python3 (Debian python3-torch, the same libtorch
the addon links), with the same thread settings. Prints one JSON object.
"""
import json
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
torch.set_num_threads(threads)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def time_add():
    a = torch.ones(1)
    b = torch.ones(1)
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(iters):
            c = a + b
        runs.append((time.perf_counter() - t) / iters * 1e6)
    return median(runs)


def time_chain():
    a = torch.ones(1)
    b = torch.full((1,), 1.0001)
    n = iters // 20
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            x = a
            for _ in range(5):
                x = x + b
                x = x * b
                x = x - b
                x = x / b
        runs.append((time.perf_counter() - t) / (n * 20) * 1e6)
    return median(runs)


def time_mixed():
    # Ops off the tiny-tensor path: unary, reductions, views.
    a = torch.randn(4, 4)
    n = iters // 10
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            x = a.exp()
            x = x.sum(1)
            x = a.transpose(0, 1)
            x = a.relu()
            x = a.reshape(16)
            x = a.tanh()
            x = a.mean()
            x = a.softmax(-1)
            x = a.matmul(a)
            x = a.unsqueeze(0)
        runs.append((time.perf_counter() - t) / (n * 10) * 1e6)
    return median(runs)


print(json.dumps({"add_us": time_add(), "chain_us": time_chain(), "mixed_us": time_mixed(), "torch": torch.__version__}))
