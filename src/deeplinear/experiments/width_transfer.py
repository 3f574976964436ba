"""Does the optimal learning rate transfer across width? muP (gamma0 fixed) against NTK (gamma0 = gamma/sqrt(nu)).

Sweeps (deeplinear.sweep) over parameterization x depth x nu x eta, eta on a log2 grid from 0.004 to
past divergence (1.024; docs/model.md: eta = 1 diverges everywhere), gamma0 = gamma = 1 (so both
parameterisations coincide at nu = 1), for

* full-batch GD at alpha = 4: theory (DMFT) and simulation (D = 128, N = nu D, P = 4 D);
* online SGD (alpha = inf, batch b = B/D = 1): theory and simulation. A theory sweep the engine does
  not cover (``check_supported`` raises NotImplementedError, as it did for online SGD before the
  theory supported it) is skipped, the reason recorded in the summary, and the simulation still runs.

Each sweep is resumable (OUT/<name>/points) and written to OUT/<name>/sweep.nc; the transfer figure to
OUT/<name>.png, and all optima with fitted width exponents to OUT/summary.json.
``quick=True`` is the CI-sized version (about a minute on a loaded 2-core machine): full-batch alpha = 4
only, depth 2, nu in {1, 4}, six learning rates 0.09 .. 0.51 on a half-octave log2 grid (chosen so that
every width has an interior optimum, in theory and in simulation), D = 64 (smaller D moves the
simulation's optimum onto the stability edge), 2 seeds, T = 20; simulations run in this process.

Score and T: without label noise the loss decays exponentially to 0; at T = 20 the best losses are
~1e-3 .. 1e-5 (full batch) and larger online, far above float64 rounding (1e-14, reached by ~100
steps), so the optimum is resolved; noise = 0 keeps the teacher realisable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .transfer_run import run_transfer_sweeps

__all__ = ["sweeps", "run_width_transfer"]

ETA_GRID = {"log2": [0.004, 1.1]}  # 0.004 * 2^k up to 1.024
WIDTHS = {"log2": [0.25, 16.0]}
#: quick: 0.0905 * 2^(k/2) up to 0.512, around the optima (0.13 .. 0.26) at nu = 1, 4
QUICK_ETA_GRID = {"log2": [0.004 * 2**4.5, 0.52, 2]}
#: the score is the loss after T steps; without label noise the loss falls exponentially to 0 and by
#: ~100 steps the best learning rates sit at float64 rounding (1e-14), so T is kept short
T = 20


def sweeps(quick: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (engine, sweep mapping) of the experiment, theory sweeps first."""
    base = {"gamma0": 1.0, "noise": 0.0, "steps": T}
    axes = {
        "parameterization": ["mup", "ntk"],
        "depth": [2] if quick else [2, 3],
        "nu": [1.0, 4.0] if quick else WIDTHS,
        "eta": QUICK_ETA_GRID if quick else ETA_GRID,
    }
    sim = {"dim": 64 if quick else 128, "seeds": 2 if quick else 4}
    gd, online = {"alpha": 4.0}, {"alpha": float("inf"), "batch": 1.0}
    named = {
        "theory_alpha4": ("theory", {"base": {**base, **gd}, "axes": axes, "chunk": 128}),
        "theory_online": ("theory", {"base": {**base, **online}, "axes": axes, "chunk": 128}),
        "simulation_alpha4": ("simulation", {"base": {**base, **gd, **sim}, "axes": axes}),
        "simulation_online": ("simulation", {"base": {**base, **online, **sim}, "axes": axes}),
    }
    if quick:
        named = {k: v for k, v in named.items() if k.endswith("alpha4")}
    return named


def run_width_transfer(
    out: str | Path,
    quick: bool = False,
    scheduler: Any = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run (or resume) every sweep, write data, figures and OUT/summary.json; returns the summary
    (see ``transfer_run.run_transfer_sweeps``)."""
    return run_transfer_sweeps(sweeps(quick), out, "nu", quick, scheduler, progress, workers)
