"""Theory over simulation for one configuration, with agreement figures measured, never assumed."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import xarray as xr

from ..config import Config

__all__ = ["agreement", "compare", "LOSS_FLOOR"]

LOSS_FLOOR = 1e-3  # below this theory loss the curves are in exponential tails: not scored


def agreement(theory: xr.Dataset, sim: xr.Dataset, floor: float = LOSS_FLOOR) -> dict[str, Any]:
    """Relative error of the seed mean against theory, over steps where the theory loss > floor.

    For train and test loss: ``rms_rel``, ``max_rel``, ``mean_rel`` (relative errors) and ``max_z``
    = max |mean - theory| / sem, plus the number of steps scored.
    """
    out: dict[str, Any] = {}
    for name in ("train_loss", "test_loss"):
        th = theory[f"{name}_mean"].values
        mean = sim[f"{name}_mean"].values
        sem = sim[f"{name}_sem"].values
        n = min(len(th), len(mean))
        th, mean, sem = th[:n], mean[:n], sem[:n]
        window = np.isfinite(th) & (th > floor) & np.isfinite(mean)
        if not window.any():
            out[name] = {"steps": 0, "rms_rel": np.nan, "max_rel": np.nan, "mean_rel": np.nan, "max_z": np.nan}
            continue
        rel = np.abs(mean[window] - th[window]) / th[window]
        z = np.abs(mean[window] - th[window]) / np.where(sem[window] > 0, sem[window], np.inf)
        out[name] = {
            "steps": int(window.sum()),
            "rms_rel": float(np.sqrt(np.mean(rel**2))),
            "max_rel": float(rel.max()),
            "mean_rel": float(rel.mean()),
            "max_z": float(z.max()),
        }
    return out


def compare(
    config: Config,
    dim: int,
    seeds: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[xr.Dataset, xr.Dataset, dict[str, Any]]:
    """(theory, simulation, agreement) for one configuration."""
    from ..simulation import simulate
    from ..theory import solve

    theory = solve(config)
    sim = simulate(config, dim=dim, seeds=seeds, progress=progress)
    return theory, sim, agreement(theory, sim)
