"""The DEFAULT power-law experiment (`deeplinear experiment power-law`) and what its fits give; writes
validation/power_law_experiment.md, .json and the figures power_law_*.png next to it.

    .venv/bin/python validation/power_law_experiment.py --workers 2   # runs or resumes results/power_law
    .venv/bin/python validation/power_law_experiment.py --out DIR     # another output folder
    .venv/bin/python validation/power_law_experiment.py --quick       # the QUICK grid (a minute; writes _cache/*_quick*)

The experiment (src/deeplinear/experiments/power_law.py): a = 1.5, s in {0.5, 1.5} (hard, easy),
depth 1-3, muP nu = 1, online SGD b in {1, 4} and full batch alpha = 4, gamma0 in {0.05, 0.3, 1, 3},
eta = 0.1, T = 500, theory (32 bins) and simulation (D = 1000, 4 seeds); the exponent p of test loss
~ t^-p is fitted over [T/10, T]; the long horizon (T = 10^4) is the population recursion (depth 1,
nu = inf, b -> inf). Every point is cached in OUT/points: a rerun only assembles.

Everything below is computed from the experiment's Dataset; the numbers in the prose are read from it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from deeplinear.experiments.power_law import DEFAULT, QUICK, run_power_law, summary
from deeplinear.results import json_safe

HERE = Path(__file__).resolve().parent
OUT = HERE / "power_law_experiment.md"


def fmt(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.3f}"


def exponent_table(ds) -> list[str]:
    """One row per (s, regime, depth): 'theory / simulation' per gamma0, then the lazy limit and references."""
    gammas = ds["gamma0"].values
    lines = ["| s | regime | L | " + " | ".join(f"gamma0 = {g:g}" for g in gammas) + " | lazy limit | s | 2s/(1+s) |",
             "|---|---|---|" + "---|" * (len(gammas) + 3)]
    p = ds["exponent"]
    for s in ds["s"].values:
        for regime in ds["regime"].values:
            for depth in ds["depth"].values:
                cells = [f"{fmt(float(p.sel(engine='theory', s=s, regime=regime, depth=depth, gamma0=g)))} / "
                         f"{fmt(float(p.sel(engine='simulation', s=s, regime=regime, depth=depth, gamma0=g)))}" for g in gammas]
                lazy = float(ds["lazy_limit_exponent"].sel(s=s, depth=depth))
                lines.append(f"| {s:g} | {regime} | {depth} | " + " | ".join(cells) +
                             f" | {fmt(lazy)} | {s:g} | {2 * s / (1 + s):.3f} |")
    return lines


#: fit rms (of log loss about the fitted line) above which a curve is not a power law over the window
SPIKY = 0.1


def findings(ds) -> tuple[list[str], dict]:
    """The statements the report makes, each computed here (theory exponents unless said), over the
    curves that are power laws over the fit window (theory fit rms <= SPIKY); the others are listed."""
    clean = ds["fit_rms"].sel(engine="theory") <= SPIKY
    p = ds["exponent"].sel(engine="theory").where(clean)
    ps = ds["exponent"].sel(engine="simulation").where(clean)
    gammas = ds["gamma0"].values
    facts: dict = {}
    out = []

    bad = [(float(s), str(r), int(d), float(g)) for s in ds["s"].values for r in ds["regime"].values
           for d in ds["depth"].values for g in gammas if not bool(clean.sel(s=s, regime=r, depth=d, gamma0=g))]
    facts["not_power_laws"] = bad
    out.append(
        f"- **Loss spikes.** {len(bad)} of {clean.size} theory curves are not power laws over the window (fit rms of "
        f"log loss > {SPIKY}): " + "; ".join(f"s = {s:g}, {r}, L = {d}, gamma0 = {g:g}" for s, r, d, g in bad)
        + ". There the learnt kernel has grown to the edge of stability at eta = 0.1 and the loss spikes "
        "(curves_L*.png; the simulation spikes too, at seed-dependent times). They are left out of every "
        "statement below."
    )

    diff = np.abs(p - ps).values
    facts["theory_vs_sim_abs_diff"] = {"median": float(np.nanmedian(diff)), "max": float(np.nanmax(diff))}
    worst = np.unravel_index(np.nanargmax(diff), diff.shape)
    where = {d: ds[d].values[i] for d, i in zip(p.dims, worst)}
    # theory vs simulation loss: the rms relative difference of the mean curves over the fit window
    lo, hi = json.loads(ds.attrs["fit_window"])
    win = (ds["step"] >= lo) & (ds["step"] <= hi)
    rel = (ds["test_loss"].sel(engine="simulation") / ds["test_loss"].sel(engine="theory") - 1).where(win & clean)
    rms = np.sqrt((rel**2).mean("step")).where(clean).values
    facts["loss_rms_rel_diff"] = {"median": float(np.nanmedian(rms)), "max": float(np.nanmax(rms))}
    out.append(
        f"- **Theory vs simulation.** |p_theory - p_sim| has median {facts['theory_vs_sim_abs_diff']['median']:.3f} "
        f"and max {facts['theory_vs_sim_abs_diff']['max']:.3f} over the {int(np.isfinite(diff).sum())} points (the max at "
        + ", ".join(f"{k} = {v}" for k, v in where.items())
        + f"); the mean test loss of the simulation (D = {json.loads(ds.attrs['settings'])['dim']}, "
        f"{json.loads(ds.attrs['settings'])['seeds']} seeds) differs from the theory by an rms relative "
        f"{facts['loss_rms_rel_diff']['median']:.1%} (median) / {facts['loss_rms_rel_diff']['max']:.1%} (max) over the fit window."
    )

    div = int((ds["diverged"] > 0).sum())
    facts["diverged_points"] = div
    out.append(f"- Diverged points (theory or any simulated seed): {div} of {ds['diverged'].size}.")

    for s in ds["s"].values:
        ps_ = p.sel(s=s)
        rich, lazy_ref = 2 * s / (1 + s), float(s)
        lazy_lim = ds["lazy_limit_exponent"].sel(s=s).values
        span = ps_.max("gamma0") - ps_.min("gamma0")
        steps_up = ps_.diff("gamma0")
        mono = bool(((steps_up >= -1e-3) | steps_up.isnull()).all())
        by_g = {f"{g:g}": [float(ps_.sel(gamma0=g).min()), float(ps_.sel(gamma0=g).max())] for g in gammas
                if bool(ps_.sel(gamma0=g).notnull().any())}
        depth_spread = float((ps_.max("depth") - ps_.min("depth")).max())
        batch_spread = float((ps_.max("regime") - ps_.min("regime")).max())
        facts[f"s={s:g}"] = {"range_by_gamma0": by_g, "monotone_in_gamma0": mono,
                             "max_spread_over_depth": depth_spread, "max_spread_over_regime": batch_spread,
                             "lazy_limit": [float(lazy_lim.min()), float(lazy_lim.max())],
                             "max_gamma0_effect": float(span.max())}
        task = "hard" if s < 1 else "easy"
        out.append(
            f"- **s = {s:g} ({task} task; lazy reference s = {lazy_ref:g}, rich reference 2s/(1+s) = {rich:.3f}).** "
            f"Lazy limit (nu = inf, no initial output) at T = {int(hi)}: p = {fmt(lazy_lim.min())}-{fmt(lazy_lim.max())}. "
            "Theory exponent per gamma0 (min-max over depth and regime): "
            + "; ".join(f"gamma0 = {g}: {fmt(a)}-{fmt(b)}" for g, (a, b) in by_g.items())
            + f". p {'rises' if mono else 'does not rise'} monotonically with gamma0 in every (depth, regime)"
            f"; the largest change from gamma0 = {gammas[0]:g} to {gammas[-1]:g} is {float(span.max()):.3f}. "
            f"At fixed gamma0 the exponent moves by at most {depth_spread:.3f} across depth "
            f"{ds['depth'].values.min()}-{ds['depth'].values.max()} and by at most "
            f"{batch_spread:.3f} across the regimes."
        )

    settings = json.loads(ds.attrs["settings"])
    c0sq = ", ".join(f"{1 / (g * g * settings['nu']):.3g}" for g in gammas)
    out.append(
        f"- **The initial output.** At nu = {settings['nu']:g} the network's output at t = 0 has variance c0^2 = "
        f"1/(gamma0^2 nu) = {c0sq} for gamma0 = {', '.join(f'{g:g}' for g in gammas)}; it is learnt mode by mode "
        f"and decays like t^-(1 - 1/a) = t^-{1 - 1 / settings['a']:.3f} (module docstring of experiments/power_law.py), "
        "which flattens the small-gamma0 curves of both tasks. So the gamma0 trend at this T mixes that decay with "
        "feature learning; the lazy-limit column (no initial output) and the long horizon (nu = inf) separate them."
    )
    long = ds["long_horizon_exponent"]
    T_long = int(ds["long_step"].values[-1])
    for s in ds["s"].values:
        vals = "; ".join(f"gamma0 = {g:g}: {fmt(float(long.sel(s=s, gamma0=g)))} (fit rms "
                         f"{float(ds['long_horizon_fit_rms'].sel(s=s, gamma0=g)):.2g})" for g in gammas)
        out.append(f"- **Long horizon, s = {s:g}** (population recursion, depth 1, nu = inf, b -> inf, T = {T_long}, "
                   f"fit over [{T_long // 10}, {T_long}]): {vals}; references s = {s:g}, 2s/(1+s) = {2 * s / (1 + s):.3f}.")
        facts[f"long_horizon_s={s:g}"] = {f"{g:g}": float(long.sel(s=s, gamma0=g)) for g in gammas}
    hard, easy = facts.get("s=0.5"), facts.get("s=1.5")
    lh, le = facts.get("long_horizon_s=0.5", {}), facts.get("long_horizon_s=1.5", {})
    if hard and easy and lh and le:
        top_h = max(hard["range_by_gamma0"].values(), key=lambda r: r[1])[1]
        out += [
            "",
            "**Reading.** (1) Hard task: feature learning steepens the loss. At T = "
            f"{int(hi)} the exponent rises from {hard['range_by_gamma0'][f'{gammas[0]:g}'][0]:.3f} (lazy end, flattened by the "
            f"initial output) to {top_h:.3f}, i.e. to and past 2s/(1+s) = 0.667; these are finite-horizon, finite-D exponents "
            f"(the lazy limit itself fits {hard['lazy_limit'][0]:.3f}-{hard['lazy_limit'][1]:.3f}, not 0.5, because D truncates "
            f"the spectrum). On the long horizon (nu = inf, T = {T_long}) the exponent goes from "
            f"{lh[f'{gammas[0]:g}']:.3f} (lazy) towards 2s/(1+s) with gamma0 (" + ", ".join(f"{k}: {v:.3f}" for k, v in lh.items())
            + "; the largest gamma0 spikes). (2) Easy task: the long-horizon exponent stays at s for every gamma0 ("
            + ", ".join(f"{v:.3f}" for v in le.values()) + "): no acceleration beyond s, as the literature says for s > 1; "
            "the T = 500, nu = 1 exponents lie below s because the initial output and the bend of the curve dominate that "
            f"window. (3) Depth moves the exponent at fixed gamma0 by up to {hard['max_spread_over_depth']:.3f} (hard) and "
            f"{easy['max_spread_over_depth']:.3f} (easy) at this T. "
            f"(4) Online b = 1, 4 and full batch alpha = 4 give the same exponents to {max(hard['max_spread_over_regime'], easy['max_spread_over_regime']):.3f}.",
        ]
    return out, facts


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("results/power_law"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="the QUICK grid, report in validation/_cache/")
    args = ap.parse_args(argv)
    out = HERE / "_cache" / "power_law_experiment_quick.md" if args.quick else OUT
    ds = run_power_law(QUICK if args.quick else DEFAULT, args.out, workers=args.workers)
    info = summary(ds)
    lines, facts = findings(ds)
    settings = json.loads(ds.attrs["settings"])
    figures = []
    for name in ["exponents.png", "long_horizon.png"] + [f"curves_L{d}.png" for d in ds["depth"].values]:
        target = out.parent / f"{out.stem.replace('experiment', '')}{name}"
        shutil.copyfile(args.out / name, target)
        figures.append(f"![{name}]({target.name})")
    text = "\n".join(
        [
            "# The power-law experiment: what the fits give",
            "",
            f"Generated by `validation/power_law_experiment.py{' --quick' if args.quick else ''}` from "
            f"`deeplinear experiment power-law{' --quick' if args.quick else ''}` (the {'QUICK' if args.quick else 'DEFAULT'} grid): "
            f"a = {settings['a']}, s in {list(settings['sources'])}, depth {list(settings['depths'])}, muP nu = {settings['nu']}, "
            f"online b in {list(settings['batches'])} and full batch alpha in {list(settings['alphas'])}, gamma0 in "
            f"{list(settings['gamma0s'])}, eta = {settings['eta']}, T = {settings['steps']}; theory: DMFT with "
            f"{settings['bins']} input-space types at D = {settings['dim']} modes; simulation: D = {settings['dim']}, "
            f"{settings['seeds']} seeds. Spectrum normalisation: {ds.attrs['spectrum_normalisation']}",
            "",
            f"Fit: {ds.attrs['fit']}; window t in {json.loads(ds.attrs['fit_window'])}.",
            "",
            "## Findings",
            "",
            *lines,
            "",
            "## Fitted exponents (theory / simulation)",
            "",
            *exponent_table(ds),
            "",
            "## Figures",
            "",
            *figures,
            "",
        ]
    )
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(json_safe({"facts": facts, "summary": info}), indent=1))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
