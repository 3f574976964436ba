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
with D (the fitted exponent p of rms ~ D^p is negative).
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


def main(argv=None) -> None:
    args = core.grid_arguments(__doc__, [1000, 2000, 4000], SEEDS).parse_args(argv)
    done = core.run_grid(GRID, args, STEPS, OUT, title=TITLE, what=WHAT, criteria=CRITERIA)
    if done is None:
        return
    rows, text = done
    text += (trend_section(rows) + core.more_seeds_section(GRID, None, args.seeds, STEPS, CRITERIA)
             + core.bias_section(rows))
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
