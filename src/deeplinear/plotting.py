"""Paper-style figures from result Datasets (matplotlib, no state kept between calls)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from .results import diverged_summary, resolved_config  # noqa: E402

__all__ = ["plot_losses", "config_title", "save_figure"]


def config_title(ds: xr.Dataset) -> str:
    c = resolved_config(ds)
    parts = [
        f"L={c['depth']}" + (" res" if c.get("residual") else ""),
        f"nu={c['nu']}",
        f"alpha={c['alpha']}" + (f" b={c['batch']}" if c.get("batch") else ""),
        f"{c['parameterization']} gamma0={c['gamma0']:.3g}",
        f"eta={c['eta']}",
    ]
    if c.get("noise"):
        parts.append(f"sigma={c['noise']}")
    if c.get("residual"):
        parts.append(f"beta_res={c['beta_res']}")
    spectrum = c.get("spectrum", {})
    if spectrum.get("kind", "isotropic") != "isotropic":
        parts.append(", ".join(f"{k}={v}" for k, v in spectrum.items()))
    if "D" in c:
        parts.append(f"D={c['D']}")
    return ", ".join(parts)


def _draw(ax, ds: xr.Dataset, name: str, label: str, color) -> None:
    step = ds["step"].values
    mean = ds[f"{name}_mean"].values
    if name in ds and "seed" in ds[name].dims:  # diverged seeds: thin lines up to their blow-up
        div = np.atleast_1d(ds["diverged_step"].values)
        for curve in ds[name].values[div >= 0]:
            ax.plot(step, curve, ":", color=color, lw=0.8, alpha=0.6)
            last = np.flatnonzero(np.isfinite(curve))
            if last.size:
                ax.plot(step[last[-1]], curve[last[-1]], "x", color=color, ms=6)
    if f"{name}_sem" in ds:  # simulation: mean +- standard error over seeds
        sem = np.nan_to_num(ds[f"{name}_sem"].values)
        ax.plot(step, mean, "o", ms=2.5, color=color, label=label, alpha=0.8)
        ax.fill_between(step, np.clip(mean - sem, 1e-300, None), mean + sem, color=color, alpha=0.25, lw=0)
    else:  # theory: a deterministic line
        ax.plot(step, mean, "-", color=color, label=label, lw=1.6)


def plot_losses(
    datasets: Sequence[xr.Dataset],
    labels: Sequence[str],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Train and test loss vs step (log scale), one panel each; simulations with error bands."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (ds, label) in enumerate(zip(datasets, labels)):
        div = diverged_summary(ds)
        if div["count"]:
            label = f"{label}; {div['count']} diverged (x: last finite step)"
        for ax, name in zip(axes, ("train_loss", "test_loss")):
            _draw(ax, ds, name, label, colors[i % len(colors)])
    for ax, name in zip(axes, ("train loss", "test loss")):
        ys = np.concatenate([np.ravel(line.get_ydata()) for line in ax.get_lines()] or [np.zeros(1)])
        if np.any(np.isfinite(ys) & (ys > 0)):
            ax.set_yscale("log")
        ax.set_xlabel("step t")
        ax.set_xlim(0, max(int(ds["step"].values[-1]) for ds in datasets))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both", lw=0.5)
    axes[1].legend(fontsize=8)
    fig.suptitle(title or config_title(datasets[0]), fontsize=10)
    return save_figure(fig, path, dpi=130)


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Lay out, write (creating the folder) and close a figure."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
