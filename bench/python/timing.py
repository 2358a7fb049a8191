"""Timing helpers shared by the Python baselines (the Node side's are in bench/util.ts)."""
import time


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def timed(fn, reps, warmup=1):
    """Median wall time of fn() in ms over `reps` runs, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1e3)
    return median(runs)
