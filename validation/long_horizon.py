"""Long horizons for power laws: the population recursion (docs/theory.md, Sec. 12.7) against the
step-by-step DMFT, and its late-time exponents at T = 10^4; writes validation/long_horizon.md and .png.

    .venv/bin/python validation/long_horizon.py            # ~5 minutes on one core (the DMFT solves at T = 500)
    .venv/bin/python validation/long_horizon.py --report   # the report from long_horizon.json

1. Error against the exact step-by-step solution: the DMFT (``solve``) of the same configurations
   (depth 1, nu = inf, online b = 1e6, the same bins) at T = 500, where both run; max relative
   difference of the test loss over t = 0..T, and the two run times side by side.
2. T = 10^4 (and 10^5 for the lazy check) from the recursion: fitted late-time exponent over
   [T/10, T] (``experiments.power_law.fit_exponent``) per gamma0 from lazy to rich, against s (lazy)
   and 2 s / (1 + s) (the rich-regime acceleration reported for hard tasks); the binning error of
   each exponent (64 vs 128 bins); the lazy check |p - s| < 0.05.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from deeplinear.config import parse_config
from deeplinear.experiments.power_law import fit_exponent
from deeplinear.plotting import save_figure
from deeplinear.theory import solve, solve_population

HERE = Path(__file__).resolve().parent
OUT = HERE / "long_horizon.md"
# depth 1: the lazy population edge is eta = 1 (lambda_1 = 1, kernel L + 1 = 2); the kernel grows with
# gamma0 and at eta = 0.1-0.2 the rich curves (gamma0 >= 3) show loss spikes, at eta = 0.05 up to gamma0 = 3 none
ETA = 0.05
LAZY = 1e-6  # gamma0 of the lazy curves (muP at nu = inf: no initial output)
GAMMAS = (LAZY, 0.3, 1.0, 3.0, 10.0)


def config(a, s, gamma0, steps, dim, batch=1e6):
    return parse_config(dict(depth=1, nu=math.inf, gamma0=gamma0, eta=ETA, steps=steps, alpha=math.inf, batch=batch,
                             dim=dim, spectrum={"kind": "powerlaw", "a": a, "s": s}))


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def against_dmft(steps=500, dim=1000, bins=32) -> list[dict]:
    rows = []
    for a, s in ((1.5, 0.5), (1.5, 1.5), (2.0, 0.5)):
        for gamma0 in (0.3, 1.0, 3.0):
            c = config(a, s, gamma0, steps, dim)
            solve_population(c, bins=bins)  # compile once, so the timing below is the run
            rec, t_rec = timed(lambda: solve_population(c, bins=bins))
            dmft, t_dmft = timed(lambda: solve(c, bins=bins))
            x, y = rec.test_loss_mean.values, dmft.test_loss_mean.values
            rows.append(dict(a=a, s=s, gamma0=gamma0, T=steps, D=dim, bins=bins, max_rel=float(np.max(np.abs(x / y - 1))),
                             seconds_recursion=t_rec, seconds_dmft=t_dmft))
            print(rows[-1], flush=True)
    return rows


def exponents(steps=10_000, dim=100_000) -> tuple[list[dict], dict]:
    rows, curves = [], {}
    for a in (1.5, 2.0):
        for s in (0.5, 1.5):
            for gamma0 in GAMMAS:
                fits = {}
                for bins in (64, 128):
                    ds, secs = timed(lambda: solve_population(config(a, s, gamma0, steps, dim), bins=bins))
                    loss = ds.test_loss_mean.values
                    t = np.arange(loss.size)
                    fits[bins] = fit_exponent(t, loss, steps / 10, steps) + (secs, int(ds.diverged_step))
                    if bins == 64:
                        curves[(a, s, gamma0)] = loss
                p, rms, secs, div = fits[64]
                longer = solve_population(config(a, s, gamma0, 10 * steps, dim), bins=64).test_loss_mean.values
                p10, rms10 = fit_exponent(np.arange(longer.size), longer, steps, 10 * steps)
                rows.append(dict(a=a, s=s, gamma0=gamma0, T=steps, D=dim, exponent=p, fit_rms=rms,
                                 exponent_10T=p10, fit_rms_10T=rms10,
                                 bins_error=abs(p - fits[128][0]), seconds=secs, diverged_step=div,
                                 final=float(curves[(a, s, gamma0)][-1])))
                print(rows[-1], flush=True)
    return rows, curves


def lazy_check(dim=1_000_000) -> list[dict]:
    """The lazy exponent at T = 10^4 and 10^5 with D = 10^6 modes (so the truncation does not bend it)."""
    out = []
    for a in (1.5, 2.0):
        for s in (0.5, 1.5):
            for steps in (10_000, 100_000):
                ds = solve_population(config(a, s, LAZY, steps, dim), bins=128)
                p = fit_exponent(np.arange(steps + 1), ds.test_loss_mean.values, steps / 10, steps)[0]
                out.append(dict(a=a, s=s, T=steps, D=dim, exponent=p, error=abs(p - s), passed=abs(p - s) < 0.05))
                print(out[-1], flush=True)
    return out


def figure(curves: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 4), sharey=False)
    for ax, (a, s) in zip(axes, [(a, s) for a in (1.5, 2.0) for s in (0.5, 1.5)]):
        for gamma0 in GAMMAS:
            loss = curves[(a, s, gamma0)]
            t = np.arange(loss.size)
            ax.loglog(t[1:], loss[1:], label="lazy" if gamma0 == LAZY else f"gamma0 = {gamma0:g}")
        t = np.geomspace(100, loss.size - 1, 10)
        lazy = curves[(a, s, LAZY)]
        for q, style in ((s, ":"), (2 * s / (1 + s), "--")):
            ax.loglog(t, 2 * lazy[100] * (t / 100) ** -q, "k" + style, lw=1)
        ax.set_title(f"a = {a:g}, s = {s:g} (dotted t^-s, dashed t^-2s/(1+s))", fontsize=9)
        ax.set_xlabel("step t")
    axes[0].set_ylabel("test loss")
    axes[0].legend(fontsize=8)
    save_figure(fig, path)


def report(data: dict) -> str:
    dm, ex, lz = data["against_dmft"], data["exponents"], data["lazy"]
    lines = [
        "# Long horizons: the population recursion (measured)",
        "",
        "Generated by `python validation/long_horizon.py`. The recursion of docs/theory.md Sec. 12.7 (depth 1, nu = inf, "
        f"online SGD with b -> inf, muP, eta = {ETA}, noise 0, power-law spectrum lambda_k = k^-a with lambda_1 = 1 and "
        "sum_k lambda_k b_k / D = 1, fixed teacher) costs O(T bins^2) instead of the DMFT's T x T arrays.",
        "",
        "## 1. Against the exact step-by-step DMFT (same configuration, b = 1e6, same bins)",
        "",
        "| a | s | gamma0 | T | D | bins | max rel. difference of the test loss | recursion (s) | DMFT (s) | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in dm:
        lines.append(f"| {r['a']:g} | {r['s']:g} | {r['gamma0']:g} | {r['T']} | {r['D']} | {r['bins']} | {r['max_rel']:.1e} | "
                     f"{r['seconds_recursion']:.3f} | {r['seconds_dmft']:.1f} | {r['seconds_dmft'] / r['seconds_recursion']:.0f}x |")
    lines += [
        "",
        f"Largest difference {max(r['max_rel'] for r in dm):.1e}: the O(1/b) SGD noise that b = 1e6 still has in the DMFT "
        "(the recursion is its b -> inf limit, tests/test_theory_population.py checks 1e-9 after extrapolation in b).",
        "",
        f"## 2. Late-time exponents at T = {ex[0]['T']}, D = {ex[0]['D']} (64 bins; fit over [T/10, T])",
        "",
        "| a | s | gamma0 | exponent | fit rms | 64 vs 128 bins | exponent over [T, 10 T] (fit rms) | t^-s | t^-2s/(1+s) | loss at T | run (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ex:
        g = "lazy (1e-6)" if r["gamma0"] == LAZY else f"{r['gamma0']:g}"
        p = "diverged" if r["diverged_step"] >= 0 else f"{r['exponent']:.3f}"
        p10 = f"{r['exponent_10T']:.3f} ({r['fit_rms_10T']:.3f})"
        lines.append(f"| {r['a']:g} | {r['s']:g} | {g} | {p} | {r['fit_rms']:.3f} | {r['bins_error']:.1e} | {p10} | {r['s']:g} | "
                     f"{2 * r['s'] / (1 + r['s']):.3f} | {r['final']:.3g} | {r['seconds']:.2f} |")
    hard = [r for r in ex if r["s"] < 1 and r["gamma0"] != LAZY]
    clean = [r for r in hard if max(r["fit_rms"], r["fit_rms_10T"]) < 0.05]
    after = [r for r in hard if r["fit_rms"] >= 0.05 and r["fit_rms_10T"] < 0.05]
    spiky = [r for r in ex if max(r["fit_rms"], r["fit_rms_10T"]) >= 0.05]
    easy = [r for r in ex if r["s"] > 1]
    lines += [
        "",
        "Reading. Hard tasks (s = 0.5): feature learning steepens the exponent from s towards 2s/(1+s) = 0.667; "
        "over [T, 10 T] the smooth rich curves give " + ", ".join(
            f"{r['exponent_10T']:.3f} (a = {r['a']:g}, gamma0 = {r['gamma0']:g})" for r in clean) + "; curves that "
        "spiked before T and are smooth after it decay over [T, 10 T] at " + (", ".join(
            f"{r['exponent_10T']:.3f} (a = {r['a']:g}, gamma0 = {r['gamma0']:g})" for r in after) or "-")
        + ", close to s again. "
        f"Easy tasks (s = 1.5): every gamma0 gives {min(r['exponent_10T'] for r in easy):.3f}-"
        f"{max(r['exponent_10T'] for r in easy):.3f} over [T, 10 T], i.e. s: no acceleration of the exponent "
        "(only of the prefactor). Curves with a fit rms >= 0.05 are not power laws over that window: "
        + ", ".join(f"a = {r['a']:g}, s = {r['s']:g}, gamma0 = {r['gamma0']:g}" for r in spiky)
        + " show loss spikes (the learnt kernel grows to the edge of stability at this eta), so their "
        "exponents are not asymptotic.",
    ]
    lines += [
        "",
        "## 3. The lazy exponent against s (D = 10^6 modes, 128 bins, fit over [T/10, T])",
        "",
        "| a | s | T | exponent | abs(p - s) | within 0.05 |",
        "|---|---|---|---|---|---|",
    ]
    for r in lz:
        lines.append(f"| {r['a']:g} | {r['s']:g} | {r['T']} | {r['exponent']:.3f} | {r['error']:.3f} | {'yes' if r['passed'] else 'NO'} |")
    lines += ["", f"{sum(r['passed'] for r in lz)} of {len(lz)} lazy exponents are within 0.05 of s.", "",
              "![long horizons](long_horizon.png)", ""]
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:] == ["--report"]:  # rebuild the report from long_horizon.json
        OUT.write_text(report(json.loads((HERE / "long_horizon.json").read_text())))
        return
    data = {"against_dmft": against_dmft()}
    data["exponents"], curves = exponents()
    data["lazy"] = lazy_check()
    figure(curves, HERE / "long_horizon.png")
    (HERE / "long_horizon.json").write_text(json.dumps(data, indent=1))
    OUT.write_text(report(data))
    print(OUT.read_text())


if __name__ == "__main__":
    main()
