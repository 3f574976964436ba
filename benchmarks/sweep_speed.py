"""A 64-point theory sweep over eta: one vmapped ``solve_batch`` call vs 64 separate ``solve`` calls.

Same configurations (depth 2, alpha 2, nu 1, muP gamma0 1, T = 100, eta log-spaced 0.004 .. 0.5), same
machine, one run each after a warm-up call that compiles (compile times reported separately).
Writes benchmarks/sweep_speed.md.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import jax
import numpy as np

from deeplinear.config import parse_config
from deeplinear.theory import solve, solve_batch
from deeplinear.theory._core import VMAP_CHUNK

POINTS = 64
BASE = dict(depth=2, alpha=2.0, nu=1.0, gamma0=1.0, steps=100)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    configs = [parse_config({**BASE, "eta": float(e)}) for e in np.geomspace(0.004, 0.5, POINTS)]
    serial = lambda: [solve(c) for c in configs]  # noqa: E731
    batched = lambda: solve_batch(configs)  # noqa: E731
    first_serial = timed(lambda: solve(configs[0]))
    first_batched = timed(batched)
    t_serial = timed(serial)
    t_batched = timed(batched)
    same = max(
        float(np.nanmax(np.abs(a["test_loss_mean"].values - b["test_loss_mean"].values)))
        for a, b in zip(serial(), batched())
    )
    text = f"""# Theory sweep speed: vmapped batch vs separate solves

Machine: {platform.machine()}, {jax.device_count()} JAX device(s) ({jax.default_backend()}), float64; shared
2-core machine, one run each after a compiling warm-up.

{POINTS} configurations: depth {BASE['depth']}, alpha {BASE['alpha']}, nu {BASE['nu']}, muP gamma0 {BASE['gamma0']},
T = {BASE['steps']}, eta log-spaced 0.004 .. 0.5.

| | time (s) |
|---|---|
| {POINTS} separate `solve` calls | {t_serial:.2f} |
| one vmapped `solve_batch` call | {t_batched:.2f} |
| **ratio separate / batched** | **{t_serial / t_batched:.2f}x** |
| first call, `solve` (compile + 1 solve) | {first_serial:.2f} |
| first call, `solve_batch` (compile + {POINTS} solves) | {first_batched:.2f} |

On this machine the one vmapped call is {'faster' if t_serial > t_batched else 'slower'} than the separate calls
(ratio {t_serial / t_batched:.2f}): on one CPU device `solve_batch` maps over the configurations in vmapped
chunks of {VMAP_CHUNK} (`theory._core.VMAP_CHUNK`) (a sequential loop over pairs), and its first
call compiles longer than `solve`'s.

Largest |difference| of the test-loss curves between the two: {same:.1e} (not bit-identical: the
vmapped program is a different XLA computation; the sweep therefore fixes its batches from the sweep
file alone, so a resumed sweep repeats the same batched calls).

Reproduce: `.venv/bin/python benchmarks/sweep_speed.py`
"""
    out = Path(__file__).with_suffix(".md")
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
