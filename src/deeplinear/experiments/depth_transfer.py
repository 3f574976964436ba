"""Does the optimal learning rate transfer across depth? Residual branches scaled 1/sqrt(L) against a
depth-independent branch scale and against plain (non-residual) nets.

Sweeps (deeplinear.sweep) over depth x eta, eta on a log2 grid from 0.002 to past divergence, muP with
gamma0 = 1, nu = 1, full-batch GD at alpha = 4, no label noise, T = 20 (the score is the test loss after
T steps, as in the width-transfer experiment), for three architectures (``ARCHS``):

* ``residual_sqrt``: h^{l+1} = h^l + (beta_res/sqrt(L)) W^l h^l / sqrt(N), beta_res = 1 (docs/model.md);
* ``residual_const``: the same with branch scale beta_res = 1/sqrt(2) at every depth (``branch_scaling:
  constant``; equal to the 1/sqrt(L) net at L = 2). Its forward pass grows like (1 + 1/2)^(L/2), so the
  random initial output, (1 + beta_res^2)^(L-1) / (gamma0^2 nu), explodes with depth;
* ``plain``: h^{l+1} = W^l h^l / sqrt(N).

Theory (DMFT) at depths 2..64 and, for the 1/sqrt(L) net, its infinite-depth limit (``depth: .inf``,
docs/theory.md Sec. 11.7: one more curve in its figure and a horizontal line in the eta* panel; its eta* in
summary.json under depth "inf", left out of the fitted exponent); simulation at D = 64 (N = 64, P = 256) at
the finite depths, 4 seeds. Every sweep is resumable
(OUT/<name>/points) and written to OUT/<name>/sweep.nc; the transfer figure (loss vs eta, one curve per
depth with the optimum marked, diverged points left out and counted; eta* vs depth) to OUT/<name>.png,
and all optima with the fitted depth exponent of eta* to OUT/summary.json.
``quick=True`` is the CI-sized version: depths 2 and 8, seven learning rates, D = 32, 2 seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from .transfer_run import run_transfer_sweeps

__all__ = ["ARCHS", "sweeps", "run_depth_transfer"]

ARCHS: dict[str, dict[str, Any]] = {
    "residual_sqrt": {"residual": True, "beta_res": 1.0, "branch_scaling": "sqrt_depth"},
    "residual_const": {"residual": True, "beta_res": 2**-0.5, "branch_scaling": "constant"},
    "plain": {"residual": False},
}
DEPTHS = [2, 4, 8, 16, 32, 64]
ETA_GRID = {"log2": [0.002, 1.1, 2]}  # 0.002 * 2^(k/2) up to ~1
QUICK = {"depths": [2, 8], "eta": {"log2": [0.0113, 0.52, 2]}}
#: the architecture whose theory sweep also runs at depth .inf (the only one with a limit)
LIMIT_ARCH = "residual_sqrt"
T = 20


def sweeps(quick: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (engine, sweep mapping): per architecture a theory sweep and a simulation sweep."""
    base = {"gamma0": 1.0, "nu": 1.0, "alpha": 4.0, "noise": 0.0, "steps": T}
    axes = {"depth": QUICK["depths"] if quick else DEPTHS, "eta": QUICK["eta"] if quick else ETA_GRID}
    sim = {"dim": 32 if quick else 64, "seeds": 2 if quick else 4}
    named: dict[str, tuple[str, dict[str, Any]]] = {}
    for arch, fields in ARCHS.items():
        depths = axes["depth"] + ([math.inf] if arch == LIMIT_ARCH else [])
        named[f"theory_{arch}"] = ("theory", {"base": {**base, **fields}, "axes": {**axes, "depth": depths}, "chunk": 64})
    for arch, fields in ARCHS.items():
        named[f"simulation_{arch}"] = ("simulation", {"base": {**base, **fields, **sim}, "axes": axes})
    return named


def run_depth_transfer(
    out: str | Path,
    quick: bool = False,
    scheduler: Any = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) every sweep, write data, figures and OUT/summary.json; returns the summary."""
    return run_transfer_sweeps(sweeps(quick), out, "depth", quick, scheduler, progress, workers)
