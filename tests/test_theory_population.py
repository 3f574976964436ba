"""The long-horizon population recursion (docs/theory.md, Sec. 12.7) against the step-by-step DMFT,
its limits, and its input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deeplinear.config import ConfigError, parse_config
from deeplinear.experiments.power_law import lazy_population_loss
from deeplinear.theory import solve, solve_population

T = 60


def cfg(**kw):
    base = dict(depth=1, nu=math.inf, gamma0=1.0, eta=0.2, steps=T, alpha=math.inf, batch=1e6, noise=0.1)
    return parse_config({**base, **kw})


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))


@pytest.mark.parametrize("gamma0", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("spec", [{"kind": "isotropic"}, {"kind": "powerlaw", "a": 1.5, "s": 0.5},
                                  {"kind": "powerlaw", "a": 2.0, "s": 1.5}])
def test_equals_the_dmft_at_infinite_batch(spec, gamma0):
    # D = 32 modes, exact types (bins >= D); the DMFT's distance to b = inf is O(1/b): Richardson
    # 2 L(b) - L(b/2) removes it (as in tests/test_theory.py)
    dim = {} if spec["kind"] == "isotropic" else {"dim": 32}
    big = solve(cfg(gamma0=gamma0, spectrum=spec, **dim))
    half = solve(cfg(gamma0=gamma0, spectrum=spec, batch=5e5, **dim))
    rec = solve_population(cfg(gamma0=gamma0, spectrum=spec, **dim))
    for name in ("train_loss_mean", "test_loss_mean"):
        assert _rel(rec[name], 2 * big[name].values - half[name].values) < 1e-9
    assert rec.test_loss_mean[-1] < 0.2 * rec.test_loss_mean[0]  # it learns: the check is not trivial
    assert "population" in rec.attrs["scheme"]


def test_binned_types_match_the_dmft_with_the_same_bins():
    c = cfg(gamma0=1.0, spectrum={"kind": "powerlaw", "a": 1.5, "s": 0.5}, dim=2000)
    rec, dmft = solve_population(c, bins=16), solve(c, bins=16)
    assert _rel(rec.test_loss_mean, dmft.test_loss_mean) < 1e-5  # O(1/b) at b = 1e6, same types


def test_lazy_limit_is_linear_regression_mode_by_mode():
    # NTK at nu = inf: gamma0 -> 0 with the initial output 1/gamma^2 (Eq. 12.3), exact types
    for gamma in (1.0, 0.3):
        c = cfg(parameterization="ntk", gamma0=gamma, noise=0.0, dim=64, steps=400,
                spectrum={"kind": "powerlaw", "a": 1.5, "s": 0.5})
        ref = lazy_population_loss(1.5, 0.5, 64, 0.2, 1, np.arange(401), c0sq=1 / gamma**2)
        assert _rel(solve_population(c).test_loss_mean, ref) < 1e-10
    # muP at tiny gamma0: no initial output, the same GD
    c = cfg(gamma0=1e-6, noise=0.0, dim=64, steps=400, spectrum={"kind": "powerlaw", "a": 1.5, "s": 0.5})
    assert _rel(solve_population(c).test_loss_mean, lazy_population_loss(1.5, 0.5, 64, 0.2, 1, np.arange(401))) < 1e-8


def test_long_horizon_is_cheap_and_feature_learning_speeds_it_up():
    spec = {"kind": "powerlaw", "a": 1.5, "s": 0.5}
    lazy = solve_population(cfg(gamma0=1e-6, noise=0.0, dim=100_000, steps=10_000, spectrum=spec))
    rich = solve_population(cfg(gamma0=3.0, noise=0.0, dim=100_000, steps=10_000, spectrum=spec))
    assert lazy.sizes["step"] == 10_001 and int(rich.diverged_step) == -1
    assert float(rich.test_loss_mean[-1]) < float(lazy.test_loss_mean[-1])


def test_a_diverging_run_is_flagged():
    ds = solve_population(cfg(eta=1.5, steps=200))
    assert 0 < int(ds.diverged_step) <= 200 and np.isnan(ds.test_loss_mean[-1])


@pytest.mark.parametrize("change,field", [
    (dict(depth=2), "depth"), (dict(nu=1.0), "nu"), (dict(alpha=2.0, batch=None), "alpha"),
    (dict(batch=1.0), "batch"), (dict(residual=True), "residual"),
])
def test_configurations_it_does_not_describe_are_named(change, field):
    with pytest.raises(ConfigError, match=rf"^{field}: .*population recursion"):
        solve_population(cfg(**change))
