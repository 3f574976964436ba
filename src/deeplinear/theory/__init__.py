"""The theory engine: DMFT of deep linear networks in the proportional limit (docs/theory.md).

Public surface::

    solve(config, order_parameters=False, bins=64, depth_steps=32) -> xarray.Dataset
    solve_batch(configs, order_parameters=False, bins=64, depth_steps=32) -> list[xarray.Dataset]   # one vmapped call
    solve_population(config, bins=64) -> xarray.Dataset   # long horizons: depth 1, nu = inf, online b -> inf (Sec. 12.7)

Covered: plain and residual nets of any finite depth, and ``depth: .inf``, the infinite-depth limit of residual nets
with 1/sqrt(L) branches (layer-time grids of ``depth_steps`` steps, extrapolated; docs/theory.md Sec. 11.7), full-batch GD at finite alpha, finite nu and nu = inf, any gamma0 > 0
(and the lazy NTK limit at nu = inf), label noise, muP and NTK. Also online SGD (a fresh batch of B = b D samples per step),
and power-law and custom spectra as a mixture over input-space types (``bins`` of them at most; Sec. 12).
"""

from ._api import DIVERGENCE_FACTOR, LAZY_GAMMA, check_supported, solve, solve_batch
from .population import solve_population  # noqa: E402
from .optimal import OptimalEta, optimal_eta, stability_edge  # noqa: E402,F401  (issue 7)

__all__ = ["solve", "solve_batch", "solve_population", "check_supported", "DIVERGENCE_FACTOR", "LAZY_GAMMA"]
