"""Learning-rate transfer, measured: theory vs simulation optima across width, and optimal_eta vs a dense grid.

    python validation/transfer.py                                  # writes validation/transfer.md (+ .json, .png)
    python validation/transfer.py --out results/width_transfer_full  # reuse that run's points
    python validation/transfer.py --part report                    # only rewrite the report from the .json

Part 1, width transfer = `deeplinear experiment width-transfer` (deeplinear.experiments.width_transfer):
muP (gamma0 fixed = 1) vs NTK (gamma0 = 1/sqrt(nu)), nu = 0.25 .. 16 (factor 2), depth 2 and 3,
full-batch alpha = 4 and online SGD (b = 1), eta = 0.004 * 2^k up to 1.024, score = test loss at
T = 20 (noiseless: at T = 20 the best losses are still far above float64 rounding), theory (DMFT) and
simulation (D = 128, N = nu D, 4 seeds). Optimum per width: parabola through the best grid point and
its neighbours in (log eta, log loss) (deeplinear.experiments.transfer); how far it moves = max / min
over widths; exponent p of a least-squares fit eta* ∝ nu^p (edge optima left out).

Part 2, optimal_eta against a dense grid on 5 configurations (theory): 241 log-spaced etas on
[edge / 100, edge] (2 % spacing, edge = the theory's stability edge at T); pass if |eta* / eta_grid - 1| < 5 %.

Resumable: every sweep point is cached under OUT (default validation/_cache/transfer/width_transfer,
git-ignored).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

from deeplinear.config import parse_config
from deeplinear.experiments.transfer import optimum, score, transfer_summary, usable
from deeplinear.experiments.width_transfer import T, run_width_transfer, sweeps
from deeplinear.plotting import plt
from deeplinear.results import load
from deeplinear.sweep import run_sweep
from deeplinear.theory import solve
from deeplinear.theory.optimal import optimal_eta, stability_edge

HERE = Path(__file__).resolve().parent
CACHE = HERE / "_cache" / "transfer"
TOL = 0.05
OUT = CACHE / "width_transfer"
FINE = 4  # theory eta points per octave in the fine sweep

CONFIGS = [  # part 2
    dict(depth=1, alpha=2.0, nu=1.0, gamma0=1.0, steps=50),
    dict(depth=2, alpha=4.0, nu=0.5, gamma0=1.0, steps=50),
    dict(depth=2, alpha=1.0, nu=2.0, parameterization="ntk", gamma0=1.0, noise=0.3, steps=50),
    dict(depth=3, alpha=4.0, nu=1.0, gamma0=0.5, steps=50),
    dict(depth=1, alpha=0.5, nu=4.0, gamma0=2.0, steps=100),
]


def part1(out: Path) -> dict:
    """Run (or resume) the width-transfer experiment; the optima per sweep, as in its summary.json."""
    first = out / "summary.json"  # the run that computed the points: its sweep times (a resumed run's are ~0)
    computed = json.loads(first.read_text()).get("seconds", {}) if first.exists() else {}
    t0 = time.time()
    summary = run_width_transfer(out, workers=1)
    summary["seconds"] = {k: max(v, computed.get(k, 0.0)) for k, v in summary["seconds"].items()}
    summary["seconds_this_run"] = round(time.time() - t0, 1)
    summary["fine"] = {}
    for name, (engine, spec) in sweeps(False).items():
        if engine != "theory" or name not in summary["sweeps"]:
            continue
        t0 = time.time()
        ds = run_sweep(fine(spec), engine="theory", out=out / f"{name}_fine")
        summary["fine"][name] = transfer_summary(ds)
        summary["seconds"][f"{name}_fine"] = round(time.time() - t0, 1)
    summary["out"] = str(out)
    summary["specs"] = {name: spec for name, (_, spec) in sweeps(False).items()}
    figure(out, HERE / "transfer_width.png")
    return summary


def fine(spec: dict) -> dict:
    """The theory sweep on a grid 4 per octave (0.004 * 2^(k/4) up to 1.024): a finer estimate, cheap for the theory."""
    return {**spec, "axes": {**spec["axes"], "eta": {"log2": [0.004, 1.1, FINE]}}}


def _curves(ds: xr.Dataset, **sel):
    loss, ok = score(ds).sel(**sel), usable(ds).sel(**sel)
    return loss.where(ok)


def figure(out: Path, path: Path, depth: int = 2) -> None:
    """Headline figure: rows alpha 4 / online; columns muP loss vs eta, NTK loss vs eta, eta* vs nu.

    Lines: theory; markers: simulation (mean over seeds); colour: width.
    """
    rows = [("alpha4", "full batch, alpha = 4"), ("online", "online SGD, b = 1")]
    fig, axes = plt.subplots(len(rows), 3, figsize=(13, 7.2), squeeze=False)
    for r, (tag, label) in enumerate(rows):
        th_path, sim_path = out / f"theory_{tag}_fine" / "sweep.nc", out / f"simulation_{tag}" / "sweep.nc"
        if not th_path.exists():
            th_path = out / f"theory_{tag}" / "sweep.nc"
        th = load(th_path) if th_path.exists() else None
        sim = load(sim_path) if sim_path.exists() else None
        ref = th if th is not None else sim
        if ref is None:
            continue
        nus = ref["nu"].values
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(nus)))
        for c, p in enumerate(("mup", "ntk")):
            ax = axes[r, c]
            for j, nu in enumerate(nus):
                if th is not None:
                    y = _curves(th, parameterization=p, depth=depth, nu=nu)
                    ax.plot(y["eta"], y, "-", color=colors[j], lw=1.3, label=f"nu={nu:g}")
                if sim is not None:
                    y = _curves(sim, parameterization=p, depth=depth, nu=nu)
                    ax.plot(y["eta"], y, "o", color=colors[j], ms=3.5, mfc="none")
            ax.set(xscale="log", yscale="log", xlabel="eta", ylabel=f"test loss at T = {T}",
                   title=f"{'muP' if p == 'mup' else 'NTK'}, depth {depth}, {label}")
            ax.grid(alpha=0.3, lw=0.5)
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            if r == 0 and c == 0:
                ax.legend(fontsize=7, title="lines: theory, o: simulation", title_fontsize=7)
        ax = axes[r, 2]
        for ds, src, mk, ls in ((th, "theory", ".", "-"), (sim, "simulation", "o", "--")):
            if ds is None:
                continue
            opt = optimum(ds).sel(depth=depth)
            for p, col in (("mup", "C0"), ("ntk", "C3")):
                o = opt.sel(parameterization=p)
                good = o["edge"].values == 0
                ax.plot(nus[good], o["eta_opt"].values[good], mk + ls, color=col, ms=5, mfc="none" if src == "simulation" else col,
                        label=f"{'muP' if p == 'mup' else 'NTK'}, {src}")
        ax.set(xscale="log", yscale="log", xlabel="nu = N / D", ylabel="optimal eta", title=f"eta* vs width, depth {depth}")
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3, which="both", lw=0.5)
        ax.legend(fontsize=7)
    fig.suptitle("Learning-rate transfer across width: muP (gamma0 = 1) vs NTK (gamma0 = 1/sqrt(nu)); "
                 "simulation D = 128", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def part2() -> list[dict]:
    rows = []
    for kw in CONFIGS:
        cfg = parse_config(kw)
        t0 = time.time()
        res = optimal_eta(cfg)
        t_opt = time.time() - t0
        lo, hi = stability_edge(cfg)
        grid = np.geomspace(lo / 100, lo, 241)
        t0 = time.time()
        losses = np.array([float(solve(cfg.replace(eta=float(e)))["test_loss_mean"][-1]) for e in grid])
        t_grid = time.time() - t0
        i = int(np.nanargmin(losses))
        rows.append({"config": kw, "eta_opt": res.eta, "loss_opt": res.loss, "at_edge": res.at_edge,
                     "iterations": res.iterations, "edge": res.edge, "eta_grid": float(grid[i]),
                     "loss_grid": float(losses[i]), "rel_diff": res.eta / grid[i] - 1,
                     "seconds_optimal_eta": round(t_opt, 1), "seconds_grid": round(t_grid, 1)})
        print(rows[-1], flush=True)
    return rows


def _row(o: list[dict]) -> list[str]:
    return ["-" if x["eta_opt"] is None else f"{x['eta_opt']:.3g}" + ("*" if x["edge"] else "") for x in o]


def report(p1: dict, p2: list[dict]) -> str:
    sw = p1["sweeps"]
    spec = p1["specs"]["simulation_alpha4"]
    nus = [o["nu"] for o in sw[next(iter(sw))]["rows"][0]["optima"]]
    lines = [
        "# Learning-rate transfer across width (measured)",
        "",
        f"Generated by `python validation/transfer.py --out {p1['out']}` (the points of "
        f"`deeplinear experiment width-transfer --out {p1['out']} --workers 1`). muP: gamma0 = 1 at every width; "
        "NTK: gamma0 = 1/sqrt(nu) (the two coincide at nu = 1). Score = test loss after "
        f"T = {spec['base']['steps']} steps, noiseless teacher (at T = 20 the best losses are ~1e-2 .. 1e-5, far above "
        "float64 rounding, which the best learning rates reach by ~100 steps; so T is short rather than adding "
        f"label noise). Simulation: D = {spec['base']['dim']}, N = nu D, {spec['base']['seeds']} seeds, full batch "
        "P = 4 D or online batches of B = D. eta grid 0.004 * 2^k, k = 0..8 (up to 1.024, past divergence), for theory "
        "and simulation alike; 'theory, 4/octave' = the same theory sweep on 0.004 * 2^(k/4) (33 etas; the experiment "
        "itself runs the factor-2 grid; this finer one is cheap for the theory only). "
        "eta*: parabola through the best grid point and its neighbours in (log eta, log loss), clipped to them. "
        "'*' = optimum next to a left-out (diverged) point or at the grid end: a bound only, not fitted. "
        "max/min and the exponent p (least squares, eta* ∝ nu^p) use the non-edge optima; 'max/min, nu >= 1' leaves out "
        "the two narrowest widths (N = 32, 64 in the simulation, where it departs most from the theory: see the figure).",
        "",
    ]
    for tag, label in (("alpha4", "full-batch GD, alpha = 4"), ("online", "online SGD, b = 1")):
        for depth in (2, 3):
            lines += [f"### {label}, depth {depth}", "",
                      f"| param. | source | eta* at nu = {', '.join(f'{n:g}' for n in nus)} | max/min | max/min, nu >= 1 | exponent p |",
                      "|---|---|---|---|---|---|"]
            for p in ("mup", "ntk"):
                for src in ("theory", "theory, 4/octave", "simulation"):
                    name = f"{src.split(',')[0]}_{tag}"
                    table = p1.get("fine", {}) if "octave" in src else sw
                    if "octave" in src and name not in table:
                        continue
                    if name not in table:
                        why = p1["skipped"].get(name, "not run")
                        lines.append(f"| {p} | {src} | {why} | | | |")
                        continue
                    row = next((r for r in table[name]["rows"] if r["where"] == {"parameterization": p, "depth": depth}), None)
                    if row is None:
                        continue
                    f = row["fit"]
                    spread = "-" if f["spread"] is None else f"{f['spread']:.2f}"
                    expo = "-" if f["exponent"] is None else f"{f['exponent']:+.3f}"
                    wide = [o["eta_opt"] for o in row["optima"] if o["nu"] >= 1 and not o["edge"] and o["eta_opt"]]
                    wide = f"{max(wide) / min(wide):.2f}" if len(wide) > 1 else "-"
                    lines.append(f"| {p} | {src} | {', '.join(_row(row['optima']))} | {spread} | {wide} | {expo} (n = {f['n_fit']}) |")
            lines.append("")
    secs = p1.get("seconds", {})
    lines += [
        "Run time of the sweeps (shared 2-core machine, simulations in one process; resumed points cost nothing): "
        + ", ".join(f"{k} {v} s" for k, v in secs.items()) + ".",
        "",
        "![transfer](transfer_width.png)",
        "",
        "validation/transfer_width.png: depth 2; lines theory (4/octave), open circles simulation (mean over seeds), "
        "colour = width; right: eta* vs nu (edge optima left out).",
        "",
        "## optimal_eta vs a dense grid (241 log-spaced etas on [edge/100, edge])",
        "",
        "| config | eta* (autodiff) | eta (grid) | relative difference | loss* | loss (grid) | secant steps | pass (< 5 %) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in p2:
        c = ", ".join(f"{k}={v}" for k, v in r["config"].items())
        ok = abs(r["rel_diff"]) < TOL
        lines.append(f"| {c} | {r['eta_opt']:.4g}{' (edge)' if r['at_edge'] else ''} | {r['eta_grid']:.4g} | "
                     f"{r['rel_diff']:+.2%} | {r['loss_opt']:.5g} | {r['loss_grid']:.5g} | {r['iterations']} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["1", "2", "all", "report"], default="all",
                    help="recompute part 1, part 2, both, or only rewrite the report from the saved .json")
    ap.add_argument("--out", type=Path, default=OUT, help="folder of the width-transfer sweeps (resumable)")
    args = ap.parse_args()
    stem = HERE / "transfer"
    saved = json.loads(stem.with_suffix(".json").read_text()) if stem.with_suffix(".json").exists() else {}
    p1 = part1(args.out) if args.part in ("1", "all") else saved["part1"]
    p2 = part2() if args.part in ("2", "all") else saved["part2"]
    stem.with_suffix(".json").write_text(json.dumps({"part1": p1, "part2": p2}, indent=1))
    stem.with_suffix(".md").write_text(report(p1, p2))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
