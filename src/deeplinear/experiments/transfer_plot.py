"""The muTransfer-style figure of a sweep (deeplinear.experiments.transfer for the numbers).

One row per combination of the axes other than width and eta: left, loss after T steps vs eta (log-log),
one curve per width, the optimum marked, diverged points left out and counted in the legend; right,
eta_opt vs width (log-log) with the fitted exponent (edge optima drawn hollow, not fitted; an infinite width,
the depth .inf limit, as a horizontal line).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from ..plotting import plt, save_figure
from .transfer import fit_exponent, optimum, score, usable

__all__ = ["plot_transfer"]


def _label(sel: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sel.items()) or "all"


def _log_axes(ax, xlabel: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, which="both", lw=0.5)
    ax.legend(fontsize=7)


def _loss_panel(ax, loss, ok, opt, width_dim, eta_dim, colors):
    widths = loss[width_dim].values if width_dim in loss.dims else [None]
    for j, w in enumerate(widths):
        sel = {width_dim: j} if w is not None else {}
        y, good, o = loss.isel(sel), ok.isel(sel), opt.isel(sel)
        eta = y[eta_dim].values
        n_div = int((~good.values).sum())
        label = (f"{width_dim}={w:g}" if w is not None else "loss") + (f" ({n_div} diverged)" if n_div else "")
        c = colors[j % len(colors)]
        ax.plot(eta[good.values], y.values[good.values], "o-", ms=3, color=c, label=label)
        if np.isfinite(float(o["eta_grid"])):
            ax.plot([float(o["eta_grid"])], [float(o["loss_opt"])], "*", ms=12, color=c, mec="k", mew=0.6)
    _log_axes(ax, eta_dim)


def _width_panel(ax, opt, width_dim):
    fit = fit_exponent(opt, width_dim)
    w = opt[width_dim].values.astype(float)
    y, edge = opt["eta_opt"].values, opt["edge"].values
    limit = np.isinf(w)  # width inf (depth .inf): the limit, a horizontal line rather than a point
    for eta, e in zip(y[limit], edge[limit]):
        ax.axhline(eta, color="C2", ls=":", lw=1.2, label=f"{width_dim}=inf" + (" (grid edge: bound)" if e else ""))
    w, y, edge = w[~limit], y[~limit], edge[~limit]
    ax.plot(w[edge == 0], y[edge == 0], "o", color="C0", label="optimum")
    if (edge != 0).any():
        ax.plot(w[edge != 0], y[edge != 0], "o", mfc="none", color="C3", label="at grid edge (bound)")
    p, c = float(fit["exponent"]), float(fit["prefactor"])
    if np.isfinite(p):
        ax.plot(w, c * w**p, "--", color="k", lw=1, label=f"fit: eta* ∝ {width_dim}^{p:+.2f}")
    _log_axes(ax, width_dim)
    ax.set_ylabel("optimal eta")


def plot_transfer(ds: xr.Dataset, path: str | Path, width_dim: str = "nu", eta_dim: str = "eta",
                  which: str = "test", title: str | None = None) -> Path:
    """Write the figure of the module docstring for a sweep Dataset; returns the path."""
    loss, ok = score(ds, which), usable(ds, which)
    opt = optimum(ds, eta_dim, which)
    rest = [d for d in loss.dims if d not in (width_dim, eta_dim)]
    combos = list(itertools.product(*[range(loss.sizes[d]) for d in rest]))
    has_width = width_dim in loss.dims
    fig, axes = plt.subplots(len(combos), 2 if has_width else 1, figsize=(10 if has_width else 5, 3.6 * len(combos)),
                             squeeze=False)
    colors = plt.cm.viridis(np.linspace(0, 0.9, loss.sizes.get(width_dim, 1)))
    for r, idx in enumerate(combos):
        sel = dict(zip(rest, idx))
        named = {d: ds[d].values[i] for d, i in sel.items()}
        _loss_panel(axes[r, 0], loss.isel(sel), ok.isel(sel), opt.isel(sel), width_dim, eta_dim, colors)
        axes[r, 0].set_ylabel(f"{which} loss at step {opt.attrs['step']}")
        axes[r, 0].set_title(_label(named), fontsize=9)
        if has_width:
            _width_panel(axes[r, 1], opt.isel(sel), width_dim)
            axes[r, 1].set_title(_label(named), fontsize=9)
    fig.suptitle(title or f"learning-rate transfer ({ds.attrs.get('engine', '')})", fontsize=10)
    return save_figure(fig, path)
