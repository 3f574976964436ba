"""More seeds for one validation configuration at one D: is a failing row seed noise or a bias?

    python validation/more_seeds.py L2_a0.5_n2_g1_e0.03 2000 --extra 32
    python validation/more_seeds.py online_L1_b4_n1_g1_e0.1 2000      # any config of core.py or online.py

Simulates seeds 32..32+extra-1 (the 32 of validation/core.py are seeds 0..31), caches them in
validation/_cache/ as {name}_T100_D{D}_S32+{extra}.npz, and prints the core metrics over all seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core  # noqa: E402
import online  # noqa: E402
from deeplinear.simulation import simulate  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a name from the GRID of validation/core.py or validation/online.py")
    ap.add_argument("dim", type=int)
    ap.add_argument("--extra", type=int, default=32)
    args = ap.parse_args(argv)
    (cfg,) = [c for c in core.GRID + online.GRID if core.name(c) == args.config]
    steps, seeds = 100, 32
    base = core.cached_simulation(cfg, args.dim, seeds, steps)
    path = core.CACHE / f"{args.config}_T{steps}_D{args.dim}_S{seeds}+{args.extra}.npz"
    if not path.exists():
        ds = simulate(core.config_of(cfg, steps), dim=args.dim, seeds=args.extra, first_seed=seeds)
        np.savez(path, train=ds["train_loss"].values, test=ds["test_loss"].values, diverged_step=ds["diverged_step"].values)
    more = np.load(path)
    th = core.cached_theory(cfg, steps, args.dim)
    out = {}
    for k in ("train", "test"):
        curves = np.concatenate([base[k], more[k]])
        div = np.concatenate([base["diverged_step"], more["diverged_step"]])
        out[k] = {"seeds 0-31": core.metrics(th[k], base[k], base["diverged_step"]),
                  f"seeds 32-{31 + args.extra}": core.metrics(th[k], more[k], more["diverged_step"]),
                  "all": core.metrics(th[k], curves, div)}
    for k, v in out.items():
        for part, m in v.items():
            print(f"{args.config} D={args.dim} {k:5s} {part:12s} rms {m['rms']:.4f} max {m['max']:.4f} z {m['z']:.1f} ({m['seeds']} seeds)")
    return out


if __name__ == "__main__":
    main()
