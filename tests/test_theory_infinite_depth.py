"""The infinite-depth limit of residual nets (docs/theory.md, Sec. 11.7): exact limits, the approach of
finite depths, the two layer loops, batching and errors.

One horizon T and one grid (depth_steps 16: grids of 4, 8, 16 steps, i.e. nets of 5, 9, 17 layers) for
the whole file, so every shape compiles once; the finite depths compared are those same 5, 9, 17.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_theory import _mp_curves, _rel  # the Marchenko-Pastur quadrature of the plain-net tests

from deeplinear.config import ConfigError, parse_config, sizes
from deeplinear.theory import _residual, solve, solve_batch

T = 20
M = 16  # depth_steps


def cfg(**kw):
    base = dict(depth=math.inf, residual=True, beta_res=1.0, alpha=2.0, nu=1.0, gamma0=1.0, eta=0.03, noise=0.0, steps=T)
    return parse_config({**base, **kw})


def test_initial_loss_is_exact_on_every_grid():
    """test(0) = train(0) = 1 + sigma^2 + e^{beta^2} / (gamma0^2 nu) (Eq. 11.14): each grid's step
    a^2 = e^{beta^2/M} - 1 reproduces the free growth of C_g exactly, so no extrapolation is needed."""
    for beta, gamma0, nu, sigma in [(1.0, 1.0, 1.0, 0.0), (0.5, 0.7, 0.5, 0.3), (2.0, 1.3, 2.0, 1.0)]:
        ds = solve(cfg(beta_res=beta, gamma0=gamma0, nu=nu, noise=sigma), depth_steps=M)
        exact = 1 + sigma**2 + math.exp(beta**2) / (gamma0**2 * nu)
        for name in ("train_loss", "test_loss"):
            assert ds[f"{name}_mean"].values[0] == pytest.approx(exact, rel=1e-12)
            np.testing.assert_allclose(ds[f"{name}_grid"].values[:, 0], exact, rtol=1e-12)
    # ... while the finite nets approach it like (1 + beta^2/L)^(L-1) (Eq. 11.7)
    finite = solve(cfg(depth=17)).test_loss_mean.values[0]
    assert finite == pytest.approx(1 + (1 + 1 / 17) ** 16, rel=1e-12) and abs(finite / (1 + math.e) - 1) > 1e-2


@pytest.mark.parametrize("alpha,sigma", [(0.5, 0.0), (2.0, 0.5)])
def test_lazy_limit_is_marchenko_pastur_with_the_limiting_kernel(alpha, sigma):
    """nu = inf, gamma0 -> 0: GD on linear regression with the kernel K = (2 + beta^2) e^{beta^2} (Eq. 11.15);
    each grid has its own kernel K_M (Eq. 11.16), and the extrapolation gains far more than the grid error."""
    beta, eta = 1.0, 0.02  # eta K lambda_max = 0.95 at alpha = 0.5
    ds = solve(cfg(beta_res=beta, alpha=alpha, nu=math.inf, gamma0=1e-6, eta=eta, noise=sigma), depth_steps=M)
    k_inf = (2 + beta**2) * math.exp(beta**2)
    k_grid = 2 * math.exp(beta**2) + M * -math.expm1(-(beta**2) / M) * math.exp(beta**2)
    for which, exact, on_grid in zip(("train", "test"), _mp_curves(alpha, eta * k_inf, sigma, T),
                                     _mp_curves(alpha, eta * k_grid, sigma, T)):
        assert _rel(ds[f"{which}_loss_grid"].sel(depth_grid=M), on_grid) < 1e-8
        extrapolated, unextrapolated = _rel(ds[f"{which}_loss_mean"], exact), _rel(on_grid, exact)
        assert extrapolated < unextrapolated / 20
        assert extrapolated < ds.attrs["depth_error_estimate"]  # the recorded estimate is an upper bound here
    assert 0.005 < ds.attrs["depth_grid_error"] < 0.1


def test_finite_depths_approach_the_limit_like_one_over_depth():
    base = dict(beta_res=1.0, gamma0=1.0, eta=0.03, noise=0.2)
    limit = solve(cfg(**base), depth_steps=M)
    depths = [5, 9, 17]  # the grids' shapes: no new compilation
    finite = [solve(cfg(depth=L, **base)) for L in depths]
    gaps = [max(_rel(ds[f"{w}_loss_mean"], limit[f"{w}_loss_mean"]) for w in ("train", "test")) for ds in finite]
    # measured: gaps 0.17, 0.105, 0.059 (rate -0.87); the limit is known to ~1 % (depth_error_estimate 0.009)
    assert gaps[0] > gaps[1] > gaps[2] > 3 * limit.attrs["depth_error_estimate"]
    rate = np.polyfit(np.log(depths), np.log(gaps), 1)[0]
    assert -1.3 < rate < -0.7, (gaps, rate)


def test_scan_over_layers_is_the_unrolled_loop(monkeypatch):
    """Both layer loops of _residual (tuples unrolled vs a lax.scan over stacks) give the same solver."""
    c = cfg(depth=3, noise=0.3, alpha=math.inf, batch=1.0)  # online: the other data step
    unrolled = solve(c, order_parameters=True)
    monkeypatch.setattr(_residual, "UNROLL_DEPTH", 0)
    _residual._compiled.cache_clear()
    try:
        scanned = solve(c, order_parameters=True)
    finally:
        _residual._compiled.cache_clear()
    for name in ("train_loss_mean", "test_loss_mean", "C_g", "C_chi", "R_chi_zeta", "C_g_cross", "R_g_xi_cross"):
        np.testing.assert_allclose(scanned[name], unrolled[name], rtol=1e-12, atol=1e-14)


def test_batch_is_separate_solves():
    configs = [cfg(beta_res=1.0, eta=0.03), cfg(beta_res=0.5, eta=0.05, gamma0=0.3, noise=0.1)]
    for c, ds in zip(configs, solve_batch(configs, depth_steps=4)):  # small grids: 1, 2, 4 steps
        one = solve(c, depth_steps=4)
        np.testing.assert_allclose(ds.test_loss_mean, one.test_loss_mean, rtol=1e-10)
        np.testing.assert_allclose(ds.train_loss_grid, one.train_loss_grid, rtol=1e-10)
        assert ds.attrs["depth_error_estimate"] == pytest.approx(one.attrs["depth_error_estimate"], rel=1e-6)
        assert ds.attrs["depth_grids"] == [1, 2, 4] and '"depth": "inf"' in ds.attrs["config"]


def test_bad_input_is_named():
    for kw in (dict(residual=False), dict(branch_scaling="constant")):
        with pytest.raises(ConfigError, match=r"depth: .inf .*allowed: .*residual: true and branch_scaling: sqrt_depth"):
            cfg(**kw)
    for bad in (6, 0, 2048, True, 8.0):
        with pytest.raises(ConfigError, match=r"^depth_steps: .*allowed: a multiple of 4 from 4 to 1024"):
            solve(cfg(), depth_steps=bad)
    with pytest.raises(NotImplementedError, match="^order_parameters: "):
        solve(cfg(), order_parameters=True)
    with pytest.raises(ConfigError, match=r"^depth: a simulation needs a finite depth"):
        sizes(cfg(dim=100))
    with pytest.raises(ConfigError, match=r"^steps: .*depth .inf \(depth_steps 64\).*depth\^2"):
        solve_batch([cfg(steps=500)], depth_steps=64)
