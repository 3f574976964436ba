"""Shared timing rule of the benchmarks: best wall time of `repeat` calls after one warm-up call."""

import time


def best_time(fn, repeat: int) -> float:
    fn()  # compile / warm up: compilation is reported separately, never mixed into a ratio
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
