"""The lazy exponent on long horizons: does the fitted exponent of lazy population GD match s?

Lazy limit of the theory (muP or NTK at nu = inf, gamma0 -> 0, online b -> inf): population GD mode by
mode, Eq. 12.3 of docs/theory.md, in closed form (``lazy_population_loss``; the DMFT reproduces it to
the binning error, checked in tests/test_power_law_experiment.py and by every run of the experiment).
Fit: least squares of log L vs log t over t in [T/10, T] (61 log-spaced times, i.e. uniform per
decade, as the experiment's fit), for horizons T no DMFT solve reaches, and D from 10^3 to 10^6 modes.

    .venv/bin/python validation/powerlaw_lazy.py   # ~1 minute; writes validation/powerlaw_lazy.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deeplinear.experiments.power_law import fit_exponent, lazy_population_loss

HORIZONS = (100, 500, 1_000, 10_000, 100_000, 1_000_000)
DIMS = (1_000, 10_000, 100_000, 1_000_000)
ETA, DEPTH = 0.1, 1  # eta (L + 1) = 0.2, the experiment's depth-1 rate


def fitted(a, s, dim, T, c0sq=0.0, eta=ETA, depth=DEPTH):
    t = np.geomspace(T / 10, T, 61)
    return fit_exponent(t, lazy_population_loss(a, s, dim, eta, depth, t, c0sq), T / 10, T)[0]


def main() -> None:
    rows = []
    for a in (1.5, 2.0):
        for s in (0.5, 1.5):
            for dim in DIMS:
                rows.append({"a": a, "s": s, "D": dim, "c0sq": 0.0,
                             "exponent": {T: fitted(a, s, dim, T) for T in HORIZONS}})
            for c0sq in (1.0, 1 / 0.3**2, 1 / 0.05**2):  # initial output of NTK nu = inf, gamma = 1, 0.3, 0.05
                rows.append({"a": a, "s": s, "D": 1000, "c0sq": c0sq,
                             "exponent": {T: fitted(a, s, 1000, T, c0sq) for T in HORIZONS}})
    head = "| a | s | D | c0^2 | " + " | ".join(f"T = {T:g}" for T in HORIZONS) + " |"
    lines = [head, "|" + "---|" * (4 + len(HORIZONS))]
    for r in rows:
        cells = " | ".join(f"{p:.3f}" for p in r["exponent"].values())
        lines.append(f"| {r['a']:g} | {r['s']:g} | {r['D']:g} | {r['c0sq']:.4g} | {cells} |")
    print("\n".join(lines))
    out = Path(__file__).with_name("powerlaw_lazy.json")
    out.write_text(json.dumps({"eta": ETA, "depth": DEPTH, "window": "[T/10, T]", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
