"""Online SGD theory (docs/theory.md, Sec. 10) vs simulation; writes validation/online.md.

    python validation/online.py                 # 24 online configs, D in (500, 1000, 2000), 32 seeds, T = 100
    python validation/online.py --worker        # a second process filling the cache (grid in reverse)
    python validation/online.py --report        # rebuild the report from the cache only

Same machinery, metrics and pass criteria as validation/core.py (cache in validation/_cache/).
The question it answers: the online equations had shown seed means up to 5.6 standard errors off
at D <= 1000 in the derivation guide. A finite-size effect shrinks as D grows (the fitted exponent
p of rms error ~ D^p is negative, and |z| does not grow with D); an error in the equations would
leave a D-independent bias, so the error would plateau and |z| grow like sqrt(D).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import core  # noqa: E402  (validation/core.py: caching, metrics, report)

INF = math.inf
# eta per (depth, gamma0): about half the lazy stability edge or less (docs/model.md)
ETA = {(1, 1.0): 0.1, (1, 0.3): 0.05, (3, 1.0): 0.03, (3, 0.3): 0.05}
# (depth, alpha, nu, gamma0, eta, noise, batch b): b in {0.25, 1, 4} x depth {1, 3} x gamma0 {0.3, 1}
# x noise {0, 0.5}, nu = 1
GRID = [
    (depth, INF, 1.0, gamma0, ETA[depth, gamma0], noise, batch)
    for depth in (1, 3)
    for gamma0 in (1.0, 0.3)
    for noise in (0.0, 0.5)
    for batch in (0.25, 1.0, 4.0)
]
OUT = core.HERE / "online.md"
WHAT = "Online SGD (a fresh batch of B = b D samples per step; train loss = loss on that batch), plain nets, isotropic data"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", type=int, nargs="*", default=[500, 1000, 2000])
    ap.add_argument("--worker", action="store_true", help="only fill the cache, walking the grid in reverse")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args(argv)
    dims, steps = tuple(sorted(args.dims)), 100
    if args.worker:
        for dim in dims:
            for c in reversed(GRID):
                core.cached_simulation(c, dim, args.seeds, steps)
        return
    if args.report:
        rows = core.cached_rows(GRID, dims, args.seeds, steps)
    else:
        rows = []
        for dim in dims:
            rows += core.evaluate(GRID, [dim], args.seeds, steps)
            core.report(rows, dims, args.seeds, steps, OUT, False, grid=GRID, title="# Online SGD validation: DMFT vs simulation", what=WHAT)
    text = core.report(rows, dims, args.seeds, steps, OUT, False, grid=GRID, title="# Online SGD validation: DMFT vs simulation", what=WHAT)
    text += core.more_seeds_section(GRID, max(dims), args.seeds, steps) + core.bias_section(rows)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
