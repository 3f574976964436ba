"""Residual-net theory (docs/theory.md, Sec. 11) vs simulation; writes validation/residual.md.

    python validation/residual.py                      # the full grid below, D in (500, 1000, 2000), 32 seeds
    python validation/residual.py --depths 2 4 --dims 500 1000   # a subset (what fits a session)
    python validation/residual.py --worker             # a second process filling the cache (grid reversed)
    python validation/residual.py --report             # rebuild the report from the cache only

Grid (issue #4): depth {2, 4, 8, 16}, beta_res {0.5, 1, 2}, nu = 1, alpha {2, 16}, gamma0 {0.3, 1},
T = 100, branch scale beta_res / sqrt(L). eta is half the lazy stability edge, capped at 0.1:
edge = 2 / (K (1 + 1/sqrt(alpha))^2) with K the lazy kernel of the residual net (Eq. 11.8),
K = 2 (1 + a^2)^(L-1) + (L-1) a^2 (1 + a^2)^(L-2), a = beta_res / sqrt(L), and (1 + 1/sqrt(alpha))^2
the top of the Marchenko-Pastur bulk of the sample covariance. Deep nets with beta_res = 2 have a
kernel so large that this eta falls below 0.03; the report prints every eta used.

Same machinery, metrics and pass criteria as validation/core.py (cache in validation/_cache/).
Also checked: the initial test loss against 1 + sigma^2 + (1 + beta_res^2/L)^(L-1) / (gamma0^2 nu)
(Eq. 11.7), in theory exactly and in simulation within 3 standard errors.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core  # noqa: E402  (validation/core.py: caching, metrics, report)

OUT = core.HERE / "residual.md"
TITLE = "# Residual-net validation: DMFT vs simulation"
WHAT = "Residual nets (branch scale beta_res / sqrt(L), config names res{beta_res}_...), isotropic data, full-batch GD"


def lazy_kernel(depth: int, beta_res: float) -> float:
    """Eq. (11.8): the residual net's lazy tangent kernel in beta-space (plain nets: L + 1)."""
    a2 = beta_res**2 / depth
    return 2 * (1 + a2) ** (depth - 1) + (depth - 1) * a2 * (1 + a2) ** max(depth - 2, 0)


def eta_for(depth: int, beta_res: float, alpha: float) -> float:
    edge = 2 / (lazy_kernel(depth, beta_res) * (1 + 1 / math.sqrt(alpha)) ** 2)
    return float(f"{min(0.1, 0.5 * edge):.2g}")


def grid(depths=(2, 4, 8, 16), betas=(0.5, 1.0, 2.0), alphas=(2.0, 16.0), gammas=(0.3, 1.0)) -> list[tuple]:
    return [
        (depth, alpha, 1.0, gamma0, eta_for(depth, beta, alpha), 0.0,
         core.Extra(tag=f"res{beta:g}", residual=True, beta_res=beta))
        for depth in depths for beta in betas for alpha in alphas for gamma0 in gammas
    ]


def initial_loss_check(g: list[tuple], dims, seeds: int, steps: int) -> list[str]:
    """Eq. (11.7) at t = 0: theory exactly, simulation within 3 standard errors."""
    from deeplinear.theory import solve

    lines = ["", "## Initial test loss, Eq. (11.7): 1 + (1 + beta_res^2/L)^(L-1) / (gamma0^2 nu)", "",
             "| config | exact | theory - exact | D | sim mean | z |", "|---|---|---|---|---|---|"]
    for c in g:
        depth, _, nu, gamma0 = c[:4]
        beta = c[-1]["beta_res"]
        exact = 1 + (1 + beta**2 / depth) ** (depth - 1) / (gamma0**2 * nu)
        th = float(solve(core.config_of(c, steps))["test_loss_mean"][0])
        for dim in dims:
            path = core.CACHE / f"{core.name(c)}_T{steps}_D{dim}_S{seeds}.npz"
            if not path.exists():
                continue
            t0 = np.load(path)["test"][:, 0]
            z = (t0.mean() - exact) / (t0.std(ddof=1) / math.sqrt(t0.size))
            lines.append(f"| {core.name(c)} | {exact:.6g} | {th - exact:.1e} | {dim} | {t0.mean():.6g} | {z:.1f} |")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", type=int, nargs="*", default=[500, 1000, 2000])
    ap.add_argument("--depths", type=int, nargs="*", default=[2, 4, 8, 16])
    ap.add_argument("--betas", type=float, nargs="*", default=[0.5, 1.0, 2.0])
    ap.add_argument("--alphas", type=float, nargs="*", default=[2.0, 16.0])
    ap.add_argument("--gammas", type=float, nargs="*", default=[0.3, 1.0])
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--worker", action="store_true", help="only fill the cache, walking the grid in reverse")
    ap.add_argument("--report", action="store_true", help="rebuild the report from cached runs only")
    args = ap.parse_args(argv)
    g = grid(args.depths, args.betas, args.alphas, args.gammas)
    dims, steps = tuple(sorted(args.dims)), 100
    if args.worker:
        for dim in dims:
            for c in reversed(g):
                core.cached_simulation(c, dim, args.seeds, steps)
        return
    if args.report:
        rows = core.cached_rows(g, dims, args.seeds, steps)
    else:
        rows = []
        for dim in dims:
            rows += core.evaluate(g, [dim], args.seeds, steps)
            core.report(rows, dims, args.seeds, steps, OUT, False, grid=g, title=TITLE, what=WHAT)
    text = core.report(rows, dims, args.seeds, steps, OUT, False, grid=g, title=TITLE, what=WHAT)
    extra = initial_loss_check(g, dims, args.seeds, steps)
    OUT.write_text(text + "\n" + "\n".join(extra) + "\n")
    print("\n".join(extra))


if __name__ == "__main__":
    sys.exit(main())
