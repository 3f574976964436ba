"""One-pass SGD versus repeated data, with and without label noise (issue: data reuse).

Three panels of curves, theory (lines) over simulation (mean ± sem), for a common eta:
online SGD at batch ratios b = B/D and full-batch GD at data ratios alpha = P/D; test loss, train
loss and the train-test gap (test - train) over time; one row per label-noise level. A second
figure shows the test loss after T steps against alpha: with label noise, repeated data overfits
the noise most near alpha = 1 (where the smallest eigenvalues of the empirical covariance vanish).

Everything is a recipe over ``solve`` / ``simulate``; the data file is one NetCDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from ..config import Config, parse_config  # noqa: E402
from ..simulation import simulate  # noqa: E402
from ..theory import solve, solve_batch  # noqa: E402
from .compare import agreement  # noqa: E402

__all__ = ["DataReuse", "run_data_reuse", "DEFAULT", "QUICK"]


@dataclass(frozen=True)
class DataReuse:
    """The experiment's grid. ``base`` fixes depth, width, gamma0, eta and T for every run."""

    base: dict = field(
        default_factory=lambda: dict(depth=1, nu=4.0, gamma0=1.0, eta=0.1, steps=200, parameterization="mup")
    )
    batches: tuple[float, ...] = (0.25, 1.0, 4.0)
    alphas: tuple[float, ...] = (0.5, 1.0, 4.0)
    noises: tuple[float, ...] = (0.0, 0.5)
    scan_alphas: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0)
    dim: int = 200
    seeds: int = 8


DEFAULT = DataReuse()
QUICK = DataReuse(
    base=dict(depth=1, nu=2.0, gamma0=1.0, eta=0.1, steps=30, parameterization="mup"),
    batches=(1.0,),
    alphas=(0.5, 4.0),
    scan_alphas=(0.5, 1.0, 2.0),
    dim=48,
    seeds=4,
)


def _regimes(exp: DataReuse) -> list[tuple[str, dict]]:
    online = [(f"online b={b:g}", dict(alpha=float("inf"), batch=b)) for b in exp.batches]
    full = [(f"full batch alpha={a:g}", dict(alpha=a)) for a in exp.alphas]
    return online + full


def _config(exp: DataReuse, noise: float, **kw) -> Config:
    return parse_config({**exp.base, "noise": noise, **kw})


def run_data_reuse(
    exp: DataReuse = DEFAULT, out: str | Path = "results/data_reuse", progress: Callable[[int, int], None] | None = None
) -> xr.Dataset:
    """Run theory and simulation for every regime and noise level, and the alpha scan.

    Writes ``data_reuse.nc`` (curves and scan), ``curves.png``, ``alpha_scan.png`` into ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    regimes = _regimes(exp)
    steps = np.arange(exp.base["steps"] + 1)
    shape = (len(exp.noises), len(regimes), len(steps))
    arrays = {k: np.full(shape, np.nan) for k in ("theory_train", "theory_test", "sim_train", "sim_test", "sim_train_sem", "sim_test_sem")}
    rms = np.full((len(exp.noises), len(regimes), 2), np.nan)
    scan = {k: np.full((len(exp.noises), len(exp.scan_alphas)), np.nan) for k in ("theory_test", "theory_train", "sim_test", "sim_test_sem", "sim_train")}
    total = len(exp.noises) * (len(regimes) + len(exp.scan_alphas))
    done = 0
    for i, noise in enumerate(exp.noises):
        for j, (_, kw) in enumerate(regimes):
            cfg = _config(exp, noise, **kw)
            th = solve(cfg)
            sim = simulate(cfg, dim=exp.dim, seeds=exp.seeds)
            for name in ("train", "test"):
                arrays[f"theory_{name}"][i, j] = th[f"{name}_loss_mean"].values
                arrays[f"sim_{name}"][i, j] = sim[f"{name}_loss_mean"].values
                arrays[f"sim_{name}_sem"][i, j] = sim[f"{name}_loss_sem"].values
            agree = agreement(th, sim)
            rms[i, j] = [agree["train_loss"]["rms_rel"], agree["test_loss"]["rms_rel"]]
            done += 1
            if progress:
                progress(done, total)
        # alpha scan: loss after T steps; the theory points share one compiled, batched solve
        cfgs = [_config(exp, noise, alpha=a) for a in exp.scan_alphas]
        for k, (cfg, th) in enumerate(zip(cfgs, solve_batch(cfgs))):
            scan["theory_test"][i, k] = th["test_loss_mean"].values[-1]
            scan["theory_train"][i, k] = th["train_loss_mean"].values[-1]
            sim = simulate(cfg, dim=exp.dim, seeds=exp.seeds)
            scan["sim_test"][i, k] = sim["test_loss_mean"].values[-1]
            scan["sim_test_sem"][i, k] = sim["test_loss_sem"].values[-1]
            scan["sim_train"][i, k] = sim["train_loss_mean"].values[-1]
            done += 1
            if progress:
                progress(done, total)

    labels = [name for name, _ in regimes]
    ds = xr.Dataset(
        {k: (("noise", "regime", "step"), v) for k, v in arrays.items()}
        | {"rms_rel_error": (("noise", "regime", "loss"), rms)}
        | {f"scan_{k}": (("noise", "alpha"), v) for k, v in scan.items()},
        coords={
            "noise": list(exp.noises),
            "regime": labels,
            "step": steps,
            "loss": ["train", "test"],
            "alpha": list(exp.scan_alphas),
        },
        attrs={
            "experiment": "data-reuse",
            "base_config": str(exp.base),
            "dim": exp.dim,
            "seeds": exp.seeds,
            "note": "theory = DMFT (proportional limit); sim = mean and sem over seeds at D = dim",
        },
    )
    ds.to_netcdf(out / "data_reuse.nc", engine="netcdf4")
    (out / "summary.md").write_text(summary(ds))
    plot_curves(ds, out / "curves.png")
    plot_alpha_scan(ds, out / "alpha_scan.png")
    return ds


def summary(ds: xr.Dataset) -> str:
    """Measured numbers of a run: agreement per regime, and the alpha scan (loss after T steps)."""
    T = int(ds["step"].values[-1])
    lines = [
        "# Data reuse: online SGD vs repeated data",
        "",
        f"Base: {ds.attrs['base_config']}; simulation D = {ds.attrs['dim']}, {ds.attrs['seeds']} seeds.",
        "",
        "rms relative error of the seed mean against theory (steps with theory loss > 1e-3):",
        "",
        "| noise | regime | train | test | test loss at T (theory / sim) | gap test - train at T (theory / sim) |",
        "|---|---|---|---|---|---|",
    ]
    for noise in ds["noise"].values:
        for regime in ds["regime"].values:
            sel = ds.sel(noise=noise, regime=regime)
            r = sel["rms_rel_error"].values
            th, sm = sel["theory_test"].values[-1], sel["sim_test"].values[-1]
            gth = th - sel["theory_train"].values[-1]
            gsm = sm - sel["sim_train"].values[-1]
            lines.append(f"| {noise:g} | {regime} | {r[0]:.2%} | {r[1]:.2%} | {th:.4g} / {sm:.4g} | {gth:.4g} / {gsm:.4g} |")
    lines += ["", f"Test loss after T = {T} steps against alpha (full-batch GD):", "", "| noise | alpha | theory | simulation ± sem |", "|---|---|---|---|"]
    for noise in ds["noise"].values:
        sel = ds.sel(noise=noise)
        for a, th, sm, se in zip(ds["alpha"].values, sel["scan_theory_test"].values, sel["scan_sim_test"].values, sel["scan_sim_test_sem"].values):
            lines.append(f"| {noise:g} | {a:g} | {th:.4g} | {sm:.4g} ± {se:.2g} |")
    return "\n".join(lines) + "\n"


def plot_curves(ds: xr.Dataset, path: Path) -> Path:
    """Rows: noise levels; columns: test loss, train loss, gap test - train."""
    noises, regimes = ds["noise"].values, ds["regime"].values
    fig, axes = plt.subplots(len(noises), 3, figsize=(14, 3.6 * len(noises)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    step = ds["step"].values
    for i, noise in enumerate(noises):
        for j, regime in enumerate(regimes):
            c = colors[j % len(colors)]
            sel = ds.isel(noise=i, regime=j)
            for col, name in enumerate(("test", "train")):
                ax = axes[i, col]
                ax.plot(step, sel[f"theory_{name}"], "-", color=c, lw=1.5, label=regime)
                m, e = sel[f"sim_{name}"].values, sel[f"sim_{name}_sem"].values
                ax.errorbar(step[::5], m[::5], yerr=e[::5], fmt="o", ms=2.5, color=c, alpha=0.7, lw=0.8)
            gap_th = sel["theory_test"] - sel["theory_train"]
            gap_sim = sel["sim_test"] - sel["sim_train"]
            axes[i, 2].plot(step, gap_th, "-", color=c, lw=1.5, label=regime)
            axes[i, 2].plot(step[::5], gap_sim[::5], "o", ms=2.5, color=c, alpha=0.7)
        for col, title in enumerate(("test loss", "train loss", "train-test gap (test - train)")):
            ax = axes[i, col]
            ax.set_title(f"{title}, label noise sigma = {noise:g}", fontsize=9)
            ax.set_xlabel("step t")
            if col < 2:
                ax.set_yscale("log")
            ax.grid(alpha=0.3, lw=0.5)
        axes[i, 0].legend(fontsize=7)
    fig.suptitle(
        f"data reuse: {ds.attrs['base_config']}; lines: theory, dots: simulation D = {ds.attrs['dim']}, "
        f"{ds.attrs['seeds']} seeds",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_alpha_scan(ds: xr.Dataset, path: Path) -> Path:
    """Test (and train) loss after T steps against alpha, per noise level."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    alpha = ds["alpha"].values
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, noise in enumerate(ds["noise"].values):
        sel = ds.isel(noise=i)
        c = colors[i % len(colors)]
        ax.plot(alpha, sel["scan_theory_test"], "-", color=c, label=f"test, sigma = {noise:g} (theory)")
        ax.errorbar(alpha, sel["scan_sim_test"], yerr=sel["scan_sim_test_sem"], fmt="o", color=c, ms=4)
        ax.plot(alpha, sel["scan_theory_train"], "--", color=c, lw=1, label=f"train, sigma = {noise:g} (theory)")
    ax.axvline(1.0, color="grey", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xticks([a for a in (0.25, 0.5, 1, 2, 4, 8) if alpha.min() <= a <= alpha.max()])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("alpha = P/D")
    ax.set_ylabel(f"loss after T = {int(ds['step'].values[-1])} steps")
    ax.set_title("repeated data: the noise is overfit most near alpha = 1", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, lw=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
