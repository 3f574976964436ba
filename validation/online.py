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
    args = core.grid_arguments(__doc__, [500, 1000, 2000], 32).parse_args(argv)
    done = core.run_grid(GRID, args, 100, OUT, title="# Online SGD validation: DMFT vs simulation", what=WHAT)
    if done is None:
        return
    rows, text = done
    text += core.more_seeds_section(GRID, [max(args.dims)], args.seeds, 100) + core.bias_section(rows)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
