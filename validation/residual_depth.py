"""Residual nets at finite depth against their infinite-depth limit (docs/theory.md, Sec. 11.7); writes
validation/residual_depth.md and validation/residual_depth.png.

    python validation/residual_depth.py            # compute what is not cached, then write the report
    python validation/residual_depth.py --report   # the report from the cache only

Theory only (no simulation). For each configuration of ``CONFIGS`` (alpha = 2, nu = 1, muP, T = 50):

* the finite nets L = 4 .. 128 (branch scale beta_res / sqrt(L)) and the layer-time grids M = 4 .. 128 of
  the infinite-depth solver (a grid of M steps is the net of M + 1 layers with a^2 = e^{beta^2/M} - 1,
  Eq. 11.12), from two solves at depth .inf (depth_steps 16 and 128);
* the reference f_inf = 2 f(128) - f(64) (Eq. 11.13), with |R(128) - R(64)| as its error estimate;
* per finite L, the max relative gap max_t |f_L(t) - f_inf(t)| / f_inf(t) of the train and test curves,
  and the fitted rate p of gap ~ L^p (all L, and L >= 16);
* per grid M, the same max relative error of the grid curve f(M) and of its extrapolation R(M);
* time and memory of the depth .inf solve at the default depth_steps (32) and at 128.

The solves of each configuration are cached together in validation/_cache/residual_depth_<name>_T<T>.npz.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

from deeplinear.config import parse_config
from deeplinear.theory import _api, _residual, solve

HERE = Path(__file__).resolve().parent
CACHE = HERE / "_cache"
OUT = HERE / "residual_depth.md"
# T = 50, not the validation's 100: a residual solve costs ~L^1.7 T^3 here, and at T = 100 one L = 128 solve
# takes ~15 minutes on the loaded 2-core machine (this script runs ~8 solves of L >= 64 per configuration)
T = 50
DEPTHS = (4, 8, 16, 32, 64, 128)
GRIDS = (4, 8, 16, 32, 64, 128)
# eta: half the measured stability edge of the L = 128 net at nu = 1 or below (simulation.initial_sharpness,
# D = 400: lambda_max = 57.9 for beta_res = 1 and 4504 for beta_res = 2, growing with L: 49.2 and 2359 at
# L = 32). The infinite-width edge (Eq. 11.15: (2 + beta^2) e^{beta^2} times the Marchenko-Pastur top) is
# 3-5x too optimistic at nu = 1; the first runs at eta = 0.03, 0.05, 0.001 sat at eta lambda_max = 1.7,
# 2.9, 4.5, and the two past the edge converged in L non-monotonically (docs/theory.md Sec. 11.3).
CONFIGS = {
    "b1_g1_e0.015": dict(beta_res=1.0, gamma0=1.0, eta=0.015),
    "b1_g0.3_e0.015": dict(beta_res=1.0, gamma0=0.3, eta=0.015),
    "b2_g1_e0.0002": dict(beta_res=2.0, gamma0=1.0, eta=0.0002),
}
# T = 100 at L = 128 holds two 2.7 GB coefficient stacks; the guard's estimate is twice the measured XLA
# buffers (1.05 x the state, Sec. 11.5), so it refuses this point at its default 8 GB
_api.MEMORY_LIMIT = 12e9


def config(name: str, depth):
    return parse_config(dict(depth=depth, residual=True, alpha=2.0, nu=1.0, noise=0.0, steps=T, **CONFIGS[name]))


def _curves(ds) -> np.ndarray:
    return np.stack([ds.train_loss_mean.values, ds.test_loss_mean.values])


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def cost_of_default(name: str) -> dict:
    """Wall time (first call with compilation, then a second call) and memory (peak RSS of the process so
    far) of the depth .inf solve at the default depth_steps."""
    c = config(name, math.inf)
    ds, first = _timed(lambda: solve(c))
    _, again = _timed(lambda: solve(c))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(first=first, again=again, rss=rss, guard=_api.solver_bytes(c), error=ds.attrs["depth_error_estimate"],
                grid_error=ds.attrs["depth_grid_error"])


def compute(name: str, default_cost: dict) -> dict:
    out = {f"default_{k}": v for k, v in default_cost.items()}
    c = config(name, math.inf)
    for steps in (GRIDS[2], GRIDS[5]):  # grids M/4, M/2, M of each
        ds, secs = _timed(lambda: solve(c, depth_steps=steps))
        for i, m in enumerate(_residual.depth_grids(steps)):
            out[f"grid{m}"] = np.stack([ds.train_loss_grid.values[i], ds.test_loss_grid.values[i]])
        out[f"seconds_inf{steps}"] = secs
        print(f"{name}: depth .inf, depth_steps {steps}: {secs:.0f} s", flush=True)
    for depth in DEPTHS:
        ds, secs = _timed(lambda: solve(config(name, depth)))
        out[f"finite{depth}"], out[f"seconds_finite{depth}"] = _curves(ds), secs
        print(f"{name}: L = {depth}: {secs:.0f} s", flush=True)
    CACHE.mkdir(exist_ok=True)
    np.savez(_cache(name), **out)
    return out


def _cache(name: str) -> Path:
    return CACHE / f"residual_depth_{name}_T{T}.npz"


def rel_gap(f: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """max_t |f - ref| / ref for train and test: shape (2,)."""
    return np.max(np.abs(f - ref) / np.abs(ref), axis=-1)


def analyse(d: dict) -> dict:
    grid = {m: d[f"grid{m}"] for m in GRIDS}
    rich = {m: _residual.richardson(grid[m // 2], grid[m]) for m in GRIDS[1:]}
    ref = rich[GRIDS[-1]]
    gaps = np.array([rel_gap(d[f"finite{L}"], ref) for L in DEPTHS])  # (L, train/test)
    logL = np.log(DEPTHS)
    big = np.array(DEPTHS) >= 16
    return dict(
        ref=ref,
        ref_error=rel_gap(ref, rich[GRIDS[-2]]),
        gaps=gaps,
        rate=[np.polyfit(logL, np.log(gaps[:, k]), 1)[0] for k in (0, 1)],
        rate_deep=[np.polyfit(logL[big], np.log(gaps[big, k]), 1)[0] for k in (0, 1)],
        monotone=[bool(np.all(np.diff(gaps[:, k]) < 0)) for k in (0, 1)],
        grid_error=np.array([rel_gap(grid[m], ref) for m in GRIDS]),
        rich_error={m: rel_gap(rich[m], ref) for m in GRIDS[1:-1]},
    )


def figure(data: dict, results: dict, path: Path) -> None:
    from deeplinear.plotting import plt, save_figure

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    name = next(iter(CONFIGS))
    d, r = data[name], results[name]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(DEPTHS)))
    for L, col in zip(DEPTHS, colors):
        axes[0].plot(d[f"finite{L}"][1], color=col, lw=1.2, label=f"L = {L}")
    axes[0].plot(r["ref"][1], "k--", lw=1.6, label="depth .inf")
    axes[0].set(yscale="log", xlabel="step", ylabel="test loss", title=f"{name}: finite depth vs the limit")
    for i, (nm, res) in enumerate(results.items()):
        style = dict(color=f"C{i}", marker="osd^"[i % 4], ms=4)
        for k, ls in ((0, "-"), (1, ":")):
            axes[1].plot(DEPTHS, res["gaps"][:, k], ls, **style,
                         label=f"{nm} {'train' if k == 0 else 'test'} (p = {res['rate'][k]:+.2f})")
        axes[2].plot(GRIDS[:-1], res["grid_error"][:-1].max(axis=1), "-", **style, label=f"{nm}: grid f(M)")
        axes[2].plot(GRIDS[1:-1], [res["rich_error"][m].max() for m in GRIDS[1:-1]], "--", **style,
                     label=f"{nm}: 2 f(M) - f(M/2)")
    xs = np.array(DEPTHS, float)
    axes[1].plot(xs, 0.5 * xs**-1.0, "k-", lw=0.8, alpha=0.5, label="~ 1/L")
    axes[1].set(xscale="log", yscale="log", xlabel="depth L", ylabel="max_t |f_L / f_inf - 1|",
                title="finite depth vs depth .inf")
    axes[2].set(xscale="log", yscale="log", xlabel="layer-time steps M",
                ylabel="max_t |f / f_inf - 1| (train, test)", title="depth .inf solver vs its grid")
    for ax in axes:
        ax.grid(alpha=0.3, which="both", lw=0.5)
        ax.legend(fontsize=6.5)
    save_figure(fig, path)


def _f(x: float) -> str:
    return f"{x:.2e}"


def report(data: dict, results: dict) -> str:
    lines = [
        "# Residual nets: convergence to the infinite-depth limit",
        "",
        "Generated by `validation/residual_depth.py` (theory only; docs/theory.md, Sec. 11.7). Isotropic data, alpha = 2,",
        f"nu = 1, muP, no label noise, T = {T}; finite nets with branch scale beta_res / sqrt(L); the limit f_inf =",
        "2 f(128) - f(64) from layer-time grids of 64 and 128 steps (Eq. 11.13), whose error estimate |R(128) - R(64)|",
        "is listed. Gap = max over steps 0..T of |f_L(t) / f_inf(t) - 1|, for the train and the test curve.",
        "",
        "## Finite depth L against depth .inf",
        "",
        "| config | f_inf error estimate (train / test) | " + " | ".join(f"L = {L}" for L in DEPTHS)
        + " | rate p (all L) | rate p (L >= 16) | shrinks monotonically |",
        "|---|---|" + "---|" * len(DEPTHS) + "---|---|---|",
    ]
    for nm, r in results.items():
        cells = [f"{g[0]:.2e} / {g[1]:.2e}" for g in r["gaps"]]
        lines.append(
            f"| {nm} | {_f(r['ref_error'][0])} / {_f(r['ref_error'][1])} | " + " | ".join(cells)
            + f" | {r['rate'][0]:+.2f} / {r['rate'][1]:+.2f} | {r['rate_deep'][0]:+.2f} / {r['rate_deep'][1]:+.2f}"
            + f" | {'yes' if r['monotone'][0] else 'NO'} / {'yes' if r['monotone'][1] else 'NO'} |"
        )
    lines += [
        "",
        "(cells: train / test gap; p from a least-squares fit of log gap against log L.)",
        "",
        "## The depth .inf solver against its own grid",
        "",
        "Max relative error (max over train and test) against f_inf of the grid curve f(M) (no extrapolation) and of",
        "the extrapolation R(M) = 2 f(M) - f(M/2); depth_steps = M uses R(M) with the grids M/4, M/2, M.",
        "",
        "| config | " + " | ".join(f"M = {m}" for m in GRIDS[:-1]) + " |",
        "|---|" + "---|" * (len(GRIDS) - 1),
    ]
    for nm, r in results.items():
        lines.append(f"| {nm}: f(M) | " + " | ".join(_f(r["grid_error"][i].max()) for i in range(len(GRIDS) - 1)) + " |")
        lines.append(f"| {nm}: R(M) | - | " + " | ".join(_f(r["rich_error"][m].max()) for m in GRIDS[1:-1]) + " |")
    lines += [
        "",
        "## Cost of a depth .inf solve",
        "",
        "| config | depth_steps | first call (with compilation) [s] | again [s] | peak RSS [GB] | guard estimate [GB] "
        "| depth_error_estimate | depth_grid_error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for nm, d in data.items():
        lines.append(
            f"| {nm} | {_residual.DEPTH_STEPS} | {float(d['default_first']):.1f} | {float(d['default_again']):.1f} | "
            f"{float(d['default_rss']) / 1e9:.2f} | {float(d['default_guard']) / 1e9:.2f} | "
            f"{_f(float(d['default_error']))} | {_f(float(d['default_grid_error']))} |"
        )
    for nm, d in data.items():
        lines.append(f"| {nm} | {GRIDS[-1]} | {float(d[f'seconds_inf{GRIDS[-1]}']):.0f} | | | | | |")
    lines += [
        "",
        "Finite depths, seconds per solve (with compilation): "
        + "; ".join(f"{nm}: " + ", ".join(f"L={L} {float(d[f'seconds_finite{L}']):.0f}" for L in DEPTHS)
                    for nm, d in data.items()),
        "",
        "Peak RSS: of the whole process (Python, JAX) right after the default solve; the default solves of all",
        "configurations run first, so the first row is the cost of one solve and later rows add little.",
        "Timings on a shared 2-core machine under load (other jobs running); compare them with each other only.",
        "",
        "![curves, gaps and grid errors](residual_depth.png)",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="only rebuild the report from the cache")
    args = parser.parse_args(argv)
    todo = [] if args.report else [nm for nm in CONFIGS if not _cache(nm).exists()]
    # the default solves first, before anything larger has run in this process (peak RSS)
    costs = {nm: cost_of_default(nm) for nm in todo}
    for nm in todo:
        compute(nm, costs[nm])
    data = {nm: dict(np.load(_cache(nm))) for nm in CONFIGS}
    results = {nm: analyse(d) for nm, d in data.items()}
    figure(data, results, HERE / "residual_depth.png")
    OUT.write_text(report(data, results))
    print(f"wrote {OUT} and {HERE / 'residual_depth.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
