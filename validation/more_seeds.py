"""More seeds for one validation configuration at one D: is a failing row seed noise or a bias?

    python validation/more_seeds.py L2_a0.5_n2_g1_e0.03 2000 --extra 32
    python validation/more_seeds.py online_L1_b4_n1_g1_e0.1 2000      # any config of core.py or online.py
    python validation/more_seeds.py pl2s1.5_L2_a2_n1_g0.3_e0.1 4000 --extra 48   # or of powerlaw.py, residual.py

Each grid has its own T and seed count S (core.py, online.py, residual.py: T = 100, S = 32; powerlaw.py: T = 500,
S = 16). Makes sure seeds S..S+extra-1 exist (the grid's own are seeds 0..S-1): simulates only those
not cached before, as validation/_cache/{name}_T{T}_D{D}_S{first}+{count}.npz (so a larger --extra
later adds a batch), and prints the metrics per batch and over all seeds; the grid's report pools them
in its "more seeds" section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core  # noqa: E402
import online  # noqa: E402
import powerlaw  # noqa: E402
import residual  # noqa: E402
from deeplinear.simulation import simulate  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a name from the grid of validation/core.py, online.py, residual.py or powerlaw.py")
    ap.add_argument("dim", type=int)
    ap.add_argument("--extra", type=int, default=32)
    args = ap.parse_args(argv)
    grids = [(core.GRID, 100, 32), (online.GRID, 100, 32), (residual.grid(), 100, 32),
             (powerlaw.GRID, powerlaw.STEPS, powerlaw.SEEDS)]
    found = [(c, steps, seeds) for grid, steps, seeds in grids for c in grid if core.name(c) == args.config]
    if not found:
        ap.error(f"config: {args.config!r} is in none of the grids (see the names in the reports)")
    ((cfg, steps, seeds),) = found
    batches = core.extra_seed_batches(cfg, args.dim, steps)
    covered = seeds
    for first, count, _ in batches:
        if first != covered:
            sys.exit(f"{core.CACHE}: the extra-seed files of {args.config} at D = {args.dim} are not contiguous")
        covered += count
    if covered < seeds + args.extra:  # only the seeds not simulated before: a rerun computes nothing
        count = seeds + args.extra - covered
        ds = simulate(core.config_of(cfg, steps, args.dim), dim=args.dim, seeds=count, first_seed=covered)
        tmp = core.CACHE / f"{args.config}_T{steps}_D{args.dim}_S{covered}+{count}.tmp.npz"
        np.savez(tmp, train=ds["train_loss"].values, test=ds["test_loss"].values, diverged_step=ds["diverged_step"].values)
        tmp.replace(tmp.with_name(tmp.name.replace(".tmp.npz", ".npz")))
    th = core.cached_theory(cfg, steps, args.dim)
    parts = {f"seeds 0-{seeds - 1}": core.cached_simulation(cfg, args.dim, seeds, steps)}
    parts |= {f"seeds {a}-{a + n - 1}": dict(np.load(p)) for a, n, p in core.extra_seed_batches(cfg, args.dim, steps)}
    parts["all"] = core.pooled_simulation(cfg, args.dim, seeds, steps)
    out = {k: {part: core.metrics(th[k], sim[k], sim["diverged_step"]) for part, sim in parts.items()} for k in ("train", "test")}
    for k, v in out.items():
        for part, m in v.items():
            print(f"{args.config} D={args.dim} {k:5s} {part:14s} rms {m['rms']:.4f} max {m['max']:.4f} z {m['z']:.1f} ({m['seeds']} seeds)")
    return out


if __name__ == "__main__":
    main()
