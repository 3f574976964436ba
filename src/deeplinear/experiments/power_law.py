"""Power-law learning curves, lazy to rich: the late-time exponent of the test loss (issue #6, part 4).

Power-law data (docs/model.md: lambda_k = k^-a with lambda_1 = 1, lambda_k b_k ∝ k^-(a s + 1),
sum_k lambda_k b_k / D = 1, fixed teacher amplitudes +-sqrt(b_k)), no label noise, muP at nu = 1, one
learning rate for every depth. For every source exponent s (easy task s > 1, hard task s < 1), depth
L, regime (online SGD at batch ratios b, full-batch GD at alpha) and feature-learning strength gamma0
(lazy to rich), the test loss L(t) of

* the theory (``solve``, DMFT, ``bins`` input-space types, D = ``dim`` modes: Sec. 12 of docs/theory.md);
* the simulation (``simulate``, D = ``dim``, ``seeds`` seeds, mean and standard error over seeds);
* the lazy limit without initial output (theory at muP, nu = inf, gamma0 = 1e-8, online b = 1e6:
  population GD, Eq. 12.3 of docs/theory.md with c0 = 0), and the same curve in closed form
  (:func:`lazy_population_loss`), per (s, L).

Long horizon (``long_steps``, default 10^4): per (s, gamma0) the population recursion of docs/theory.md
Sec. 12.7 (``solve_population``: depth 1, muP at nu = inf, online b -> inf, ``long_dim`` modes), which
is the DMFT of that limit at O(T bins^2) cost; its exponent is fitted over [T/10, T] the same way.

Fitted exponent: least squares of log L against log t over the late window t in [T/10, T] (``window``),
each step weighted by its share of log t (d log t ~ 1/t), so every decade counts alike; nothing is
subtracted (noise = 0, the loss decays to 0). ``fit_rms`` is the rms residual of log L about the line
(large: not a power law over the window, e.g. a loss spike). A curve that diverged, or is not positive
and finite over the window, has no exponent (NaN). References: t^-s (lazy: population GD on the power
measure, D -> inf) and t^-(2s/(1+s)) (the acceleration of rich training reported in the literature for
hard tasks, s < 1, independent of depth).

What the finite model adds to the lazy t^-s (measured with :func:`lazy_population_loss`, see
validation/powerlaw_lazy.py and long_horizon.md): the truncation at D (the unlearnt tail beyond k = D is missing,
which steepens the s < 1 curves over long horizons: +0.03 at D = 1000, T = 500, a = 1.5, s = 0.5), and
the initial output (1/D) sum_k lambda_k c0^2 (1 - eta (L+1) lambda_k)^(2t), c0 = 1/(gamma0 sqrt nu), which
decays like t^-(1 - 1/a) and so flattens the small-gamma0 curves, the more so the larger s.

Cost (theory: T x T arrays, time ~ T^3.4 and linear in bins; docs/theory.md Sec. 12.3): DEFAULT =
a = 1.5, s in {0.5, 1.5}, L in {1, 2, 3}, online b in {1, 4} and full batch alpha = 4, gamma0 in
{0.05, 0.3, 1, 3}, eta = 0.1, T = 500, 32 bins, D = 1000, 4 seeds: 72 theory points (plus 6 lazy-limit
ones) at 25-110 s each and 72 simulations at 5-40 s each on the loaded 2-core machine, about 2 hours
there (roughly 40 minutes on one free core). ``workers`` > 1 computes the missing points in that many
local processes, ``scheduler`` on a dask.distributed cluster (``sweep.map_units``). Every point is
cached under OUT/points, so an interrupted run resumes, and a smaller grid with the same T, D, eta and
bins reuses the points it shares. What the DEFAULT fits give: validation/power_law_experiment.md.
QUICK (the test): T = 100, D = 256, two gamma0, L in {1, 2}, online b = 1 and full batch, 2 seeds:
about a minute.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import xarray as xr

from ..config import Config, parse_config, resolve
from ..data import spectrum
from ..plotting import save_figure
from ..results import json_safe, load
from ..sweep import _write_point, map_units, point_key

__all__ = [
    "PowerLawExperiment",
    "DEFAULT",
    "QUICK",
    "run_power_law",
    "fit_exponent",
    "lazy_population_loss",
    "reference_exponents",
    "summary",
]

#: gamma0 of the lazy-limit theory point (muP, nu = inf: no initial output; gamma0 -> 0: lazy)
LAZY_GAMMA0 = 1e-8
#: batch ratio of the lazy-limit point: population GD (the SGD noise is O(1/b), Eq. 10.2)
POPULATION_BATCH = 1e6


@dataclass(frozen=True)
class PowerLawExperiment:
    """The grid. Every point: muP, noise 0, power law (a, s), eta, T = ``steps``, D = ``dim``."""

    gamma0s: tuple[float, ...] = (0.05, 0.3, 1.0, 3.0)
    sources: tuple[float, ...] = (0.5, 1.5)  # s: hard (s < 1) and easy (s > 1) tasks
    depths: tuple[int, ...] = (1, 2, 3)
    batches: tuple[float, ...] = (1.0, 4.0)  # online SGD, b = B/D
    alphas: tuple[float, ...] = (4.0,)  # full-batch GD, alpha = P/D
    a: float = 1.5
    eta: float = 0.1
    nu: float = 1.0
    steps: int = 500
    dim: int = 1000
    seeds: int = 4
    bins: int = 32
    window: float = 0.1  # fit over t in [window * T, T]
    # long horizon: the population recursion (depth 1, nu = inf, b -> inf; docs/theory.md Sec. 12.7)
    long_steps: int = 10_000
    long_dim: int = 100_000


DEFAULT = PowerLawExperiment()
QUICK = PowerLawExperiment(
    gamma0s=(0.05, 1.0), depths=(1, 2), batches=(1.0,), alphas=(4.0,), steps=100, dim=256, seeds=2,
    long_steps=2000, long_dim=10_000,
)


def reference_exponents(s: float) -> dict[str, float]:
    """Late-time exponents of L(t) ~ t^-p: lazy p = s; rich, hard task (s < 1): p = 2s/(1+s)."""
    return {"lazy": float(s), "rich": 2.0 * s / (1.0 + s)}


def long_horizon_config(exp: PowerLawExperiment, s: float, gamma0: float) -> Config:
    """The long-horizon point: depth 1, muP at nu = inf, population GD (online b -> inf), long_steps."""
    return parse_config(
        {**_base(exp, s, 1), "steps": exp.long_steps, "dim": exp.long_dim, "alpha": math.inf,
         "batch": POPULATION_BATCH, "parameterization": "mup", "nu": math.inf, "gamma0": gamma0}
    )


def _regimes(exp: PowerLawExperiment) -> list[tuple[str, dict[str, float]]]:
    online = [(f"online b={b:g}", {"alpha": math.inf, "batch": b}) for b in exp.batches]
    return online + [(f"full batch alpha={a:g}", {"alpha": a}) for a in exp.alphas]


def _base(exp: PowerLawExperiment, s: float, depth: int) -> dict[str, Any]:
    return {
        "depth": depth,
        "eta": exp.eta,
        "steps": exp.steps,
        "noise": 0.0,
        "dim": exp.dim,
        "seeds": exp.seeds,
        "spectrum": {"kind": "powerlaw", "a": exp.a, "s": s},
    }


def point_config(exp: PowerLawExperiment, s: float, depth: int, regime: dict, gamma0: float) -> Config:
    return parse_config({**_base(exp, s, depth), **regime, "parameterization": "mup", "nu": exp.nu, "gamma0": gamma0})


def lazy_limit_config(exp: PowerLawExperiment, s: float, depth: int) -> Config:
    """Population GD in the lazy limit without initial output: muP, nu = inf, gamma0 -> 0, b -> inf."""
    return parse_config(
        {**_base(exp, s, depth), "alpha": math.inf, "batch": POPULATION_BATCH, "parameterization": "mup",
         "nu": math.inf, "gamma0": LAZY_GAMMA0}
    )


def lazy_population_loss(a: float, s: float, dim: int, eta: float, depth: int, t, c0sq: float = 0.0) -> np.ndarray:
    """Closed form of lazy population GD on the D-mode power law (docs/theory.md, Eq. 12.3):
    L(t) = (1/D) sum_k lambda_k (b_k + c0^2) (1 - eta (L+1) lambda_k)^(2t); c0^2 = 0: no initial output.
    ``t`` may be any array of times (e.g. log-spaced, for horizons no solver reaches)."""
    cfg = parse_config({"spectrum": {"kind": "powerlaw", "a": a, "s": s}, "dim": dim})
    lam, b = spectrum(cfg, dim)
    t = np.asarray(t, float)
    flat = t.ravel()
    factor = np.abs(1.0 - eta * (depth + 1) * lam)  # |contraction| per step, mode by mode (even power)
    out = np.concatenate([  # chunks of 64 times keep the D x chunk array small at large D
        (lam * (b + c0sq)) @ factor[:, None] ** (2.0 * flat[None, i : i + 64]) / dim for i in range(0, flat.size, 64)
    ])
    return out.reshape(t.shape)


def fit_exponent(t, loss, lo: float, hi: float) -> tuple[float, float]:
    """(p, rms): least squares of log loss = c - p log t over lo <= t <= hi, each point weighted by its
    share of log t (uniform per decade, for integer or log-spaced t); rms = weighted rms residual.
    NaN if the window holds a non-finite or non-positive loss or fewer than 3 points."""
    t, loss = np.asarray(t, float), np.asarray(loss, float)
    m = (t >= lo) & (t <= hi) & (t > 0)
    if m.sum() < 3 or not np.all(np.isfinite(loss[m])) or np.any(loss[m] <= 0):
        return math.nan, math.nan
    x, y = np.log(t[m]), np.log(loss[m])
    w = np.gradient(x)
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.lstsq(A * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    r = y - A @ coef
    return float(-coef[0]), float(np.sqrt(np.sum(w * r**2) / np.sum(w)))


# ---- running, with one cached file per point --------------------------------------------------
def _point_path(out: Path, cfg: Config, engine: str, exp: PowerLawExperiment) -> Path:
    tag = f"theory_bins{exp.bins}" if engine == "theory" else "simulation"
    return out / "points" / f"{tag}_{point_key(cfg, engine)}.nc"


def _compute_missing(points, exp: PowerLawExperiment, scheduler, workers: int, tick) -> None:
    """Compute the (path, config, engine) points whose file is missing, slowest first (theory, deepest),
    on ``scheduler`` / ``workers`` processes (sweep.map_units); each is written as soon as it is done."""
    todo = [(path, cfg, engine) for path, cfg, engine in points if not path.exists()]
    for _ in range(len(points) - len(todo)):
        tick()
    todo.sort(key=lambda p: (p[2] != "theory", -p[1].depth))
    for engine in ("theory", "simulation"):
        units = [((path,), [cfg.model_dump()]) for path, cfg, e in todo if e == engine]
        for (path,), (ds,) in map_units(units, engine, scheduler, workers, bins=exp.bins):
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_point(ds, path)
            tick()


def run_power_law(
    exp: PowerLawExperiment = DEFAULT,
    out: str | Path = "results/power_law",
    progress: Callable[[int, int], None] | None = None,
    scheduler: Any = None,
    workers: int = 1,
) -> xr.Dataset:
    """Run (or resume) every point; write ``power_law.nc``, ``summary.json``, ``exponents.png``,
    ``long_horizon.png`` and one ``curves_L{depth}.png`` per depth into ``out``. Returns the Dataset.

    The missing points are computed on the ``dask.distributed`` cluster at ``scheduler``, else across
    ``workers`` local processes (each point is one process: theory and simulation alike)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    regimes = _regimes(exp)
    labels = [name for name, _ in regimes]
    steps = np.arange(exp.steps + 1)
    engines = ["theory", "simulation"]
    grid = (len(exp.sources), len(regimes), len(exp.depths), len(exp.gamma0s))
    curves = {k: np.full((2,) + grid + (steps.size,), np.nan) for k in ("test_loss", "train_loss", "test_loss_sem")}
    diverged = np.zeros((2,) + grid, dtype=np.int64)
    lazy_th = np.full((len(exp.sources), len(exp.depths), steps.size), np.nan)
    lazy_cf = np.full_like(lazy_th, np.nan)
    long_steps = np.arange(exp.long_steps + 1)
    long = np.full((len(exp.sources), len(exp.gamma0s), long_steps.size), np.nan)
    total = 2 * int(np.prod(grid)) + len(exp.sources) * len(exp.depths) + long.shape[0] * long.shape[1]
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    cells = [(i, k, j, g, point_config(exp, s, depth, regime, gamma0))
             for i, s in enumerate(exp.sources) for k, depth in enumerate(exp.depths)
             for j, (_, regime) in enumerate(regimes) for g, gamma0 in enumerate(exp.gamma0s)]
    lazy_cfgs = {(i, k): lazy_limit_config(exp, s, depth) for i, s in enumerate(exp.sources) for k, depth in enumerate(exp.depths)}
    points = [(_point_path(out, c, "theory", exp), c, "theory") for c in lazy_cfgs.values()]
    points += [(_point_path(out, c, engine, exp), c, engine) for *_, c in cells for engine in engines]
    _compute_missing(points, exp, scheduler, workers, tick)

    for (i, k), cfg in lazy_cfgs.items():
        lazy_th[i, k] = load(_point_path(out, cfg, "theory", exp))["test_loss_mean"].values
        lazy_cf[i, k] = lazy_population_loss(exp.a, exp.sources[i], exp.dim, exp.eta, exp.depths[k], steps)
    for i, k, j, g, cfg in cells:
        for e, engine in enumerate(engines):
            ds = load(_point_path(out, cfg, engine, exp))
            idx = (e, i, j, k, g)
            curves["test_loss"][idx] = ds["test_loss_mean"].values
            curves["train_loss"][idx] = ds["train_loss_mean"].values
            if engine == "simulation":
                curves["test_loss_sem"][idx] = ds["test_loss_sem"].values
            diverged[idx] = int(np.sum(np.atleast_1d(ds["diverged_step"].values) >= 0))

    from ..theory import solve_population  # seconds per curve: not cached

    for i, s in enumerate(exp.sources):
        for g, gamma0 in enumerate(exp.gamma0s):
            long[i, g] = solve_population(long_horizon_config(exp, s, gamma0), bins=exp.bins)["test_loss_mean"].values
            tick()
    long_lo, long_hi = exp.window * exp.long_steps, float(exp.long_steps)
    long_fit = np.apply_along_axis(lambda c: np.array(fit_exponent(long_steps, c, long_lo, long_hi)), -1, long)

    lo, hi = exp.window * exp.steps, float(exp.steps)
    fits = np.apply_along_axis(lambda c: np.array(fit_exponent(steps, c, lo, hi)), -1, curves["test_loss"])
    lazy_fit = np.apply_along_axis(lambda c: np.array(fit_exponent(steps, c, lo, hi)), -1, lazy_th)
    lazy_cf_fit = np.apply_along_axis(lambda c: np.array(fit_exponent(steps, c, lo, hi)), -1, lazy_cf)
    dims = ("engine", "s", "regime", "depth", "gamma0")
    settings = dataclasses.asdict(exp)
    example = point_config(exp, exp.sources[0], exp.depths[0], regimes[0][1], exp.gamma0s[0])
    ds = xr.Dataset(
        {
            "test_loss": (dims + ("step",), curves["test_loss"]),
            "train_loss": (dims + ("step",), curves["train_loss"]),
            "test_loss_sem": (dims + ("step",), curves["test_loss_sem"]),
            "diverged": (dims, diverged),
            "exponent": (dims, fits[..., 0]),
            "fit_rms": (dims, fits[..., 1]),
            "lazy_limit_loss": (("s", "depth", "step"), lazy_th),
            "lazy_limit_closed_form": (("s", "depth", "step"), lazy_cf),
            "lazy_limit_exponent": (("s", "depth"), lazy_fit[..., 0]),
            "lazy_limit_closed_form_exponent": (("s", "depth"), lazy_cf_fit[..., 0]),
            "long_horizon_loss": (("s", "gamma0", "long_step"), long),
            "long_horizon_exponent": (("s", "gamma0"), long_fit[..., 0]),
            "long_horizon_fit_rms": (("s", "gamma0"), long_fit[..., 1]),
            "reference_lazy": (("s",), [reference_exponents(s)["lazy"] for s in exp.sources]),
            "reference_rich": (("s",), [reference_exponents(s)["rich"] for s in exp.sources]),
        },
        coords={
            "engine": engines,
            "s": list(exp.sources),
            "regime": labels,
            "depth": list(exp.depths),
            "gamma0": list(exp.gamma0s),
            "step": steps,
            "long_step": long_steps,
        },
        attrs={
            "experiment": "power-law",
            "settings": json.dumps(settings),
            "fit_window": json.dumps([lo, hi]),
            "fit": "least squares of log test loss vs log t over fit_window, weights d(log t); nothing subtracted",
            "theory": f"DMFT (solve, bins={exp.bins}) at D = dim modes; simulation: mean and sem over seeds",
            "lazy_limit": "theory at muP, nu = inf, gamma0 = 1e-8, online b = 1e6 (population GD, no initial "
            "output); lazy_limit_closed_form: Eq. 12.3 of docs/theory.md with c0 = 0",
            "spectrum_normalisation": resolve(example).get("spectrum_normalisation", ""),
            "long_horizon": f"population recursion (solve_population, docs/theory.md Sec. 12.7): depth 1, muP, nu = inf, "
            f"online b -> inf, D = {exp.long_dim} modes, {exp.bins} bins, T = {exp.long_steps}; fit over "
            f"[{long_lo:g}, {long_hi:g}]",
        },
    )
    ds.to_netcdf(out / "power_law.nc", engine="netcdf4")
    info = summary(ds)
    info["wall_seconds_this_call"] = round(time.perf_counter() - start, 1)
    (out / "summary.json").write_text(json.dumps(json_safe(info), indent=1))
    plot_exponents(ds, out / "exponents.png")
    plot_long_horizon(ds, out / "long_horizon.png")
    for depth in exp.depths:
        plot_curves(ds, depth, out / f"curves_L{depth}.png")
    return ds


def summary(ds: xr.Dataset) -> dict[str, Any]:
    """Every fitted exponent, the reference values and the lazy limit, as plain JSON-able values."""
    rows = []
    for s in ds["s"].values:
        for regime in ds["regime"].values:
            for depth in ds["depth"].values:
                for gamma0 in ds["gamma0"].values:
                    sel = ds.sel(s=s, regime=regime, depth=depth, gamma0=gamma0)
                    row = {"s": float(s), "regime": str(regime), "depth": int(depth), "gamma0": float(gamma0)}
                    for engine in ds["engine"].values:
                        e = sel.sel(engine=engine)
                        row[str(engine)] = {
                            "exponent": float(e["exponent"]),
                            "fit_rms": float(e["fit_rms"]),
                            "diverged": int(e["diverged"]),
                            "loss_at_T": float(e["test_loss"].values[-1]),
                        }
                    rows.append(row)
    lazy = [
        {
            "s": float(s),
            "depth": int(d),
            "theory": float(ds["lazy_limit_exponent"].sel(s=s, depth=d)),
            "closed_form": float(ds["lazy_limit_closed_form_exponent"].sel(s=s, depth=d)),
            "max_rel_diff_theory_vs_closed_form": float(
                np.nanmax(np.abs(ds["lazy_limit_loss"].sel(s=s, depth=d) / ds["lazy_limit_closed_form"].sel(s=s, depth=d) - 1))
            ),
        }
        for s in ds["s"].values
        for d in ds["depth"].values
    ]
    return {
        "experiment": "power-law",
        "settings": json.loads(ds.attrs["settings"]),
        "fit_window": json.loads(ds.attrs["fit_window"]),
        "fit": ds.attrs["fit"],
        "spectrum_normalisation": ds.attrs["spectrum_normalisation"],
        "reference": {f"{float(s):g}": reference_exponents(float(s)) for s in ds["s"].values},
        "lazy_limit": lazy,
        "exponents": rows,
        "long_horizon": {
            "scheme": ds.attrs["long_horizon"],
            "exponents": [
                {"s": float(s), "gamma0": float(g), "exponent": float(ds["long_horizon_exponent"].sel(s=s, gamma0=g)),
                 "fit_rms": float(ds["long_horizon_fit_rms"].sel(s=s, gamma0=g))}
                for s in ds["s"].values for g in ds["gamma0"].values
            ],
        },
    }


# ---- figures ---------------------------------------------------------------------------------
def _reference_lines(ax, t0: float, t1: float, y0: float, s: float) -> None:
    """t^-s and t^-2s/(1+s) from (t0, y0) to t1, as slopes to read the curves against."""
    ref = reference_exponents(s)
    tt = np.array([t0, t1])
    ax.plot(tt, y0 * (tt / t0) ** -ref["lazy"], "k-", lw=0.9, alpha=0.7, label=f"t^-s = t^-{ref['lazy']:.3g} (lazy)")
    ax.plot(tt, y0 * (tt / t0) ** -ref["rich"], "k--", lw=0.9, alpha=0.7, label=f"t^-2s/(1+s) = t^-{ref['rich']:.3g}")


def _log_steps(T: int, n: int = 40) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, T, n)).astype(int))


def plot_curves(ds: xr.Dataset, depth: int, path: str | Path) -> Path:
    """One depth: a panel per (s, regime), test loss vs t (log-log); lines theory, dots simulation
    (mean ± sem), grey dotted the lazy limit; legend: fitted exponents (theory / simulation)."""
    import matplotlib.pyplot as plt

    sources, regimes = ds["s"].values, ds["regime"].values
    fig, axes = plt.subplots(len(sources), len(regimes), figsize=(4.6 * len(regimes), 3.9 * len(sources)), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, ds.sizes["gamma0"]))
    step = ds["step"].values
    T = int(step[-1])
    lo, hi = json.loads(ds.attrs["fit_window"])
    pts = _log_steps(T)
    for i, s in enumerate(sources):
        for j, regime in enumerate(regimes):
            ax = axes[i, j]
            sel = ds.sel(s=s, regime=regime, depth=depth)
            for g, gamma0 in enumerate(ds["gamma0"].values):
                th, sm = sel.sel(engine="theory", gamma0=gamma0), sel.sel(engine="simulation", gamma0=gamma0)
                p_th, p_sm = float(th["exponent"]), float(sm["exponent"])
                label = f"gamma0={gamma0:g}: {p_th:.3f} / {p_sm:.3f}"
                ax.plot(step[1:], th["test_loss"].values[1:], "-", color=colors[g], lw=1.4, label=label)
                m, e = sm["test_loss"].values[pts], np.nan_to_num(sm["test_loss_sem"].values[pts])
                ax.errorbar(pts, m, yerr=e, fmt="o", ms=2.5, color=colors[g], alpha=0.75, lw=0.7)
            lazy = ds["lazy_limit_loss"].sel(s=s, depth=depth).values
            p_lazy = float(ds["lazy_limit_exponent"].sel(s=s, depth=depth))
            ax.plot(step[1:], lazy[1:], ":", color="grey", lw=1.6, label=f"lazy limit (nu=inf, no init. output): {p_lazy:.3f}")
            y0 = float(lazy[int(lo)]) * 0.4
            _reference_lines(ax, lo, hi, y0, float(s))
            ax.axvspan(lo, hi, color="grey", alpha=0.07, lw=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step t")
            ax.set_ylabel("test loss")
            ax.set_title(f"s = {s:g} ({'hard' if s < 1 else 'easy'} task), {regime}", fontsize=9)
            ax.grid(alpha=0.3, which="both", lw=0.4)
            ax.legend(fontsize=6, title="fitted exponent theory / sim", title_fontsize=6)
    settings = json.loads(ds.attrs["settings"])
    fig.suptitle(
        f"depth L = {depth}, muP nu = {settings['nu']:g}, a = {settings['a']:g}, eta = {settings['eta']:g}; lines: theory "
        f"({settings['bins']} bins), dots: simulation D = {settings['dim']}, {settings['seeds']} seeds; fit window "
        f"t in [{lo:g}, {hi:g}] (shaded)",
        fontsize=9,
    )
    return save_figure(fig, path)


def plot_long_horizon(ds: xr.Dataset, path: str | Path) -> Path:
    """Test loss vs t of the population recursion (depth 1, nu = inf, b -> inf) per s, one curve per
    gamma0 (legend: fitted exponent), with the reference slopes t^-s and t^-2s/(1+s)."""
    import matplotlib.pyplot as plt

    sources = ds["s"].values
    fig, axes = plt.subplots(1, len(sources), figsize=(5.2 * len(sources), 4.2), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, ds.sizes["gamma0"]))
    T = int(ds["long_step"].values[-1])
    pts = _log_steps(T, 80)
    for ax, s in zip(axes[0], sources):
        for g, gamma0 in enumerate(ds["gamma0"].values):
            loss = ds["long_horizon_loss"].sel(s=s, gamma0=gamma0).values
            p = float(ds["long_horizon_exponent"].sel(s=s, gamma0=gamma0))
            ax.plot(pts, loss[pts], color=colors[g], label=f"gamma0 = {gamma0:g}: {p:.3f}")
        first = ds["long_horizon_loss"].sel(s=s).values[:, T // 10]
        _reference_lines(ax, T / 10, T, 0.5 * float(np.nanmin(first)), float(s))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step t")
        ax.set_ylabel("test loss")
        ax.set_title(f"s = {s:g}: depth 1, nu = inf, population GD (Sec. 12.7)", fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_exponents(ds: xr.Dataset, path: str | Path) -> Path:
    """Fitted exponent vs gamma0, one panel per s: theory (lines) and simulation (markers) per depth
    and regime; horizontal lines: s, 2s/(1+s) and the lazy limit's fitted exponent per depth."""
    import matplotlib.pyplot as plt

    sources = ds["s"].values
    fig, axes = plt.subplots(1, len(sources), figsize=(5.8 * len(sources), 4.3), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", "-.", ":"]
    markers = ["o", "s", "^", "D"]
    gamma0 = ds["gamma0"].values
    for i, s in enumerate(sources):
        ax = axes[0, i]
        for k, depth in enumerate(ds["depth"].values):
            c = colors[k % len(colors)]
            for j, regime in enumerate(ds["regime"].values):
                sel = ds["exponent"].sel(s=s, depth=depth, regime=regime)
                ax.plot(gamma0, sel.sel(engine="theory"), styles[j % 4], color=c, lw=1.2,
                        label=f"L={depth}, {regime}")
                ax.plot(gamma0, sel.sel(engine="simulation"), markers[j % 4], color=c, ms=4, mfc="none")
            ax.axhline(float(ds["lazy_limit_exponent"].sel(s=s, depth=depth)), color=c, lw=0.6, alpha=0.5)
        ref = reference_exponents(float(s))
        ax.axhline(ref["lazy"], color="k", lw=1.0, label=f"s = {ref['lazy']:.3g}")
        ax.axhline(ref["rich"], color="k", lw=1.0, ls="--", label=f"2s/(1+s) = {ref['rich']:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("gamma0 (lazy -> rich)")
        ax.set_ylabel("fitted late-time exponent p (L ~ t^-p)")
        ax.set_title(f"s = {s:g}; lines: theory, open markers: simulation; thin: lazy limit per depth", fontsize=8)
        ax.grid(alpha=0.3, lw=0.4)
        ax.legend(fontsize=6)
    lo, hi = json.loads(ds.attrs["fit_window"])
    fig.suptitle(f"late-time exponent over t in [{lo:g}, {hi:g}]", fontsize=9)
    return save_figure(fig, path)
