"""Power-law data: theory (docs/theory.md, Sec. 12) vs simulation; writes validation/powerlaw.md.

    python validation/powerlaw.py                 # 16 configs, D in (1000, 2000, 4000), 16 seeds, T = 500
    python validation/powerlaw.py --worker        # a second process filling the simulation cache (grid reversed)
    python validation/powerlaw.py --dims 1000 2000  # a subset of D (what fits a session)
    python validation/powerlaw.py --report        # rebuild the report from the caches only

Grid (issue #6): capacity a in {1.5, 2}, source s in {0.5, 1.5}, gamma0 in {0.3, 1} (muP, nu = 1),
online SGD (b = 1) and full-batch GD (alpha = 2); depth L = 2, eta = 0.1 (the lazy population edge is
2 / (L + 1) = 0.67; Sec. 12.6), noise 0, the fixed teacher beta_star_k = +-sqrt(b_k) (Sec. 12.5), T = 500.
The spectrum is the D-mode power law of docs/model.md (lambda_1 = 1, sum_k lambda_k b_k / D = 1), so
the theory is solved at every simulated D (the truncation it defines), with BINS input-space types
(binning error ~3e-3 at D = 2000-20000, Sec. 12.3).

Same machinery and metrics as validation/core.py (simulation cache in validation/_cache/, theory
curves in validation/_cache/theory/, keyed by the theory's source). Pass at the largest D: rms relative
error < 3 % (train and test, over the steps where the theory loss > 1e-3), and the rms error falls
with D. Where the loss rests on a few top modes (a = 2, s = 1.5) 16 seeds are too few to measure a 3 %
error (the report's seed-to-seed spread section); those rows were re-measured with more seeds
(`validation/more_seeds.py NAME D --extra N`), pooled in their own section and in the verdict.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core  # noqa: E402  (validation/core.py: caching, metrics, report)

INF = math.inf
STEPS, SEEDS, DEPTH, ETA, BINS = 500, 16, 2, 0.1, 32
CRITERIA = {"rms": 0.03}
OUT = core.HERE / "powerlaw.md"
TITLE = "# Power-law data: DMFT vs simulation"
WHAT = (f"Power-law spectra (lambda_k = k^-a, lambda_1 = 1; lambda_k b_k ∝ k^-(a s + 1), sum_k lambda_k b_k / D = 1; "
        f"fixed teacher; config names pl{{a}}s{{s}}_...), depth {DEPTH}, online SGD (b = 1) and full batch "
        f"(alpha = 2), theory with {BINS} input-space types solved at each D")


def extra(a: float, s: float) -> core.Extra:
    return core.Extra(tag=f"pl{a:g}s{s:g}", per_dim=True, bins=BINS, spectrum={"kind": "powerlaw", "a": a, "s": s})


# (depth, alpha, nu, gamma0, eta, noise[, batch], Extra)
GRID = [
    (DEPTH, alpha, 1.0, gamma0, ETA, 0.0, *batch, extra(a, s))
    for a in (1.5, 2.0)
    for s in (0.5, 1.5)
    for gamma0 in (0.3, 1.0)
    for alpha, batch in ((2.0, ()), (INF, (1.0,)))
]


def trend_section(rows: list[dict]) -> str:
    """Does the error fall with D? Per config: rms (train / test) at each D and the verdict."""
    by_cfg, dims = core.by_config(rows)
    if len(dims) < 2:
        return ""
    lines = ["", "## Error against D", "",
             "rms relative error train / test at each D; 'falls' = the rms at the largest D is below the rms at "
             "the smallest (train and test).", "",
             "| config | " + " | ".join(f"D = {d}" for d in dims) + " | falls |", "|---|" + "---|" * (len(dims) + 1)]
    falls = 0
    for cfg_name, per in by_cfg.items():
        ds = [d for d in dims if d in per]
        cells = [f"{per[d]['train']['rms']:.4f} / {per[d]['test']['rms']:.4f}" if d in per else "-" for d in dims]
        ok = len(ds) > 1 and all(per[ds[-1]][k]["rms"] < per[ds[0]][k]["rms"] for k in ("train", "test"))
        falls += ok
        lines.append(f"| {cfg_name} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    lines += ["", f"The rms error falls from D = {dims[0]} to the largest D simulated in {falls} of {len(by_cfg)} "
              "configurations."]
    return "\n".join(lines) + "\n"


def scatter_section(rows: list[dict]) -> str:
    """How many seeds does a 3 % rms need? The seed-to-seed spread of the window-mean relative error
    (bias_sem * sqrt(seeds), test loss) per config at each D: when the loss rests on a few top modes it
    does not fall with D, and the standard error of the mean over n seeds is spread / sqrt(n)."""
    by_cfg, dims = core.by_config(rows)
    lines = ["", "## Seed-to-seed spread", "",
             "Spread over seeds of each seed's window-mean relative test-loss error (= bias standard error x "
             "sqrt(seeds)), and the seeds n_1% that put the standard error of the mean at 1 % (spread^2 / 1e-4). "
             "Where the loss rests on a few top modes (a = 2, s = 1.5: lambda_k b_k ~ k^-4) the spread is largest "
             "and falls only slowly with D, so the 16-seed rms there measures the seeds as much as the theory.", "",
             "| config | " + " | ".join(f"spread D = {d}" for d in dims) + " | n_1% at the largest D |",
             "|---|" + "---|" * (len(dims) + 1)]
    for cfg_name, per in by_cfg.items():
        spread = {d: per[d]["test"]["bias_sem"] * per[d]["test"]["seeds"] ** 0.5 for d in dims if d in per}
        last = spread[max(spread)]
        lines.append(f"| {cfg_name} | " + " | ".join(f"{spread[d]:.3f}" if d in spread else "-" for d in dims)
                     + f" | {last**2 / 1e-4:.0f} |")
    return "\n".join(lines) + "\n"


def verdict_section(rows: list[dict], seeds: int) -> str:
    """The issue's standard at the largest D (rms < 3 %, train and test), with the grid's seeds and, for the
    rows re-measured with more seeds, with all seeds pooled."""
    by_cfg, dims = core.by_config(rows)
    big = max(dims)
    ok = lambda m: all(m[k]["rms"] < CRITERIA["rms"] for k in ("train", "test"))  # noqa: E731
    grid_pass, pooled = [], []
    for c in GRID:
        n = core.name(c)
        if big not in by_cfg.get(n, {}):
            continue
        if ok(by_cfg[n][big]):
            grid_pass.append(n)
        elif core.extra_seed_batches(c, big, STEPS):
            sim, th = core.pooled_simulation(c, big, seeds, STEPS), core.cached_theory(c, STEPS, big)
            m = {k: core.metrics(th[k], sim[k], sim["diverged_step"]) for k in ("train", "test")}
            pooled.append((n, sim["test"].shape[0], m, ok(m)))
    total = sum(big in per for per in by_cfg.values())
    lines = ["", f"## Verdict at D = {big}", "",
             f"- {len(grid_pass)} of {total} configurations have rms < {CRITERIA['rms']:.0%} (train and test) with {seeds} seeds."]
    for n, k, m, good in pooled:
        lines.append(f"- {n}: with {k} seeds pooled, rms train / test {m['train']['rms']:.4f} / {m['test']['rms']:.4f}, "
                     f"bias {m['test']['bias']:+.4f} ({m['test']['bias'] / m['test']['bias_sem']:+.1f} standard errors): "
                     + ("passes." if good else "fails."))
    n_ok = len(grid_pass) + sum(g for *_, g in pooled)
    lines.append(f"- In all: {n_ok} of {total} meet the standard at D = {big}.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = core.grid_arguments(__doc__, [1000, 2000, 4000], SEEDS).parse_args(argv)
    done = core.run_grid(GRID, args, STEPS, OUT, title=TITLE, what=WHAT, criteria=CRITERIA)
    if done is None:
        return
    rows, text = done
    text += (verdict_section(rows, args.seeds) + trend_section(rows) + scatter_section(rows) + core.more_seeds_section(GRID, None, args.seeds, STEPS, CRITERIA)
             + core.bias_section(rows))
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
