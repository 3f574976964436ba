"""Unit tests of the DMFT engine (docs/theory.md): exact limits, invariants, batching, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from deeplinear.config import parse_config
from deeplinear.results import resolved_config, to_json
from deeplinear.theory import solve, solve_batch

T = 40  # one compiled shape per depth keeps the file fast


def cfg(**kw):
    base = dict(depth=1, alpha=2.0, nu=1.0, gamma0=1.0, eta=0.05, noise=0.0, steps=T)
    return parse_config({**base, **kw})


# ---------------------------------------------------------------------------------------------
# (a) nu = inf, gamma0 -> 0: GD on linear regression with kernel (L+1) I, Marchenko-Pastur quadrature
# ---------------------------------------------------------------------------------------------
def _mp_curves(alpha: float, c: float, sigma: float, steps: int, init_var: float = 1.0):
    """Lazy GD v(t+1) = v(t) - c u(t), u = Sigma_hat v + noise, from the MP law of Sigma_hat = X^T X / P.

    Written independently of the DMFT: spectral decomposition of Sigma_hat (D x D) and of X X^T / P
    (P x P), which share their non-zero eigenvalues (density rho, mass min(1, alpha)); the null space
    of Sigma_hat (mass (1 - alpha)_+) keeps v(0); that of X X^T/P (mass (1 - 1/alpha)_+) keeps the noise.
    """
    q = 1.0 / alpha
    lo, hi = (1 - math.sqrt(q)) ** 2, (1 + math.sqrt(q)) ** 2

    def rho(x):
        return math.sqrt(max((hi - x) * (x - lo), 0.0)) / (2 * math.pi * q * x)

    def quad(f):
        return integrate.quad(lambda x: rho(x) * f(x), lo, hi, epsabs=0.0, epsrel=1e-13, limit=400)[0]

    train, test = [], []
    for t in range(steps + 1):
        decay2 = quad(lambda x: (1 - c * x) ** (2 * t))
        train.append(
            init_var * quad(lambda x: x * (1 - c * x) ** (2 * t))
            + sigma**2 / alpha * decay2
            + sigma**2 * max(0.0, 1 - 1 / alpha)
        )
        noise = quad(lambda x: (1 - (1 - c * x) ** t) ** 2 / x)
        test.append(init_var * decay2 + sigma**2 / alpha * noise + init_var * max(0.0, 1 - alpha) + sigma**2)
    return np.array(train), np.array(test)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_lazy_infinite_width_is_marchenko_pastur(depth):
    eta = 0.05  # eta (L+1) lambda_max < 2 for alpha = 0.5 (lambda_max = 5.83) and L <= 3
    for alpha in (0.5, 2.0):
        for sigma in (0.0, 0.5):
            train, test = _mp_curves(alpha, eta * (depth + 1), sigma, T)
            # muP with gamma0 -> 0 (corrections are O(gamma0^2)) ...
            ds = solve(cfg(depth=depth, alpha=alpha, nu=math.inf, gamma0=1e-6, eta=eta, noise=sigma))
            assert _rel(ds.train_loss_mean, train) < 1e-8
            assert _rel(ds.test_loss_mean, test) < 1e-8
    # ... and the exact lazy path (NTK at nu = inf: gamma0_effective = 0), whose initial output of
    # variance 1/gamma^2 adds to the teacher's variance
    gamma = 2.0
    train, test = _mp_curves(2.0, eta * (depth + 1), 0.0, T, init_var=1 + 1 / gamma**2)
    ds = solve(cfg(depth=depth, nu=math.inf, parameterization="ntk", gamma0=gamma, eta=eta))
    assert resolved_config(ds)["gamma0"] == 0.0
    assert _rel(ds.train_loss_mean, train) < 1e-8
    assert _rel(ds.test_loss_mean, test) < 1e-8


# ---------------------------------------------------------------------------------------------
# (b) alpha, nu -> inf, L = 1: the scalar recursion of docs/theory.md, Eq. (8.3)
# ---------------------------------------------------------------------------------------------
def _scalar_recursion(gamma, eta, steps, sigma=0.0):
    p, q, A, B = 1.0, 0.0, 0.0, 0.0
    out = []
    for _ in range(steps + 1):
        e = 1 - q / gamma - eta * (p * A + q * B)
        out.append(e * e + sigma**2)
        p, q, A, B = p + eta**2 * gamma**2 * e * A, q + eta * gamma * e * (1 + eta * gamma * B), A + e * p, B + e * q
    return np.array(out)


@pytest.mark.parametrize("gamma0,eta", [(0.3, 0.05), (1.0, 0.2), (3.0, 0.1)])
def test_infinite_data_and_width_scalar_recursion(gamma0, eta):
    # full-batch alpha is capped by the config schema (1e6); the DMFT's distance to alpha = inf is
    # O(1/alpha), so Richardson extrapolation 2 L(alpha) - L(alpha/2) removes it
    big = solve(cfg(alpha=1e6, nu=math.inf, gamma0=gamma0, eta=eta, noise=0.1))
    half = solve(cfg(alpha=5e5, nu=math.inf, gamma0=gamma0, eta=eta, noise=0.1))
    ref = _scalar_recursion(gamma0, eta, T, sigma=0.1)
    for name in ("train_loss_mean", "test_loss_mean"):
        assert _rel(big[name], ref) < 1e-4
        assert _rel(2 * big[name].values - half[name].values, ref) < 1e-8
    assert ref[-1] < 0.5 * ref[0]  # it does learn: the check is not trivial


@pytest.mark.parametrize("gamma0,eta", [(0.3, 0.05), (1.0, 0.2)])
def test_online_infinite_batch_is_the_scalar_recursion(gamma0, eta):
    # online SGD's noise is O(1/b) (docs/theory.md, Eq. 10.2): b -> inf is population GD
    big = solve(cfg(alpha=math.inf, batch=1e6, nu=math.inf, gamma0=gamma0, eta=eta, noise=0.1))
    half = solve(cfg(alpha=math.inf, batch=5e5, nu=math.inf, gamma0=gamma0, eta=eta, noise=0.1))
    ref = _scalar_recursion(gamma0, eta, T, sigma=0.1)
    for name in ("train_loss_mean", "test_loss_mean"):
        assert _rel(big[name], ref) < 1e-4
        assert _rel(2 * big[name].values - half[name].values, ref) < 1e-8


def test_online_and_full_batch_agree_at_small_eta():
    """With many samples, online SGD and full-batch GD differ by the SGD noise, O(eta) relative."""

    def gap(eta):
        kw = dict(depth=2, nu=1.0, gamma0=1.0, eta=eta, steps=400, noise=0.3)
        online = solve(cfg(alpha=math.inf, batch=1.0, **kw))["test_loss_mean"].values
        full = solve(cfg(alpha=1e4, **kw))["test_loss_mean"].values
        assert online[-1] < 0.5 * online[0]  # both learn
        return np.max(np.abs(online / full - 1))

    g1, g2 = gap(0.01), gap(0.005)
    assert g1 < 0.05
    assert g2 / g1 == pytest.approx(0.5, rel=0.2)  # the gap vanishes linearly in eta


# ---------------------------------------------------------------------------------------------
# (c), (d): eta -> 0 freezes the loss; the initial loss is 1 + sigma^2 + 1/(gamma0^2 nu)
# ---------------------------------------------------------------------------------------------
def test_tiny_learning_rate_keeps_initial_loss():
    ds = solve(cfg(depth=2, eta=1e-12, gamma0=0.7, nu=0.5, noise=0.3))
    init = 1 + 0.3**2 + 1 / (0.7**2 * 0.5)
    np.testing.assert_allclose(ds.test_loss_mean, init, rtol=1e-9)
    np.testing.assert_allclose(ds.train_loss_mean, init, rtol=1e-9)


@pytest.mark.parametrize(
    "kw,expected",
    [
        (dict(gamma0=1.0, nu=1.0), 2.0),
        (dict(gamma0=0.05, nu=2.0, noise=0.5), 1 + 0.25 + 1 / (0.05**2 * 2)),
        (dict(gamma0=0.3, nu=math.inf, noise=1.0), 2.0),
        # NTK: gamma0 = gamma / sqrt(nu), so the initial output is 1/gamma^2 at every width
        (dict(parameterization="ntk", gamma0=2.0, nu=4.0), 1.25),
    ],
)
def test_initial_loss(kw, expected):
    ds = solve(cfg(depth=3, **kw))
    assert ds.test_loss_mean.values[0] == pytest.approx(expected, rel=1e-12)
    assert ds.train_loss_mean.values[0] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# (e) solve_batch = separate solves; order parameters; result format
# ---------------------------------------------------------------------------------------------
def test_batch_equals_separate_solves():
    configs = [
        cfg(depth=2, eta=0.05, gamma0=1.0, alpha=2.0, nu=1.0),
        cfg(depth=2, eta=0.08, gamma0=0.3, alpha=0.5, nu=2.0, noise=0.2),
        cfg(depth=2, eta=0.03, gamma0=3.0, alpha=16.0, nu=math.inf),
        cfg(depth=2, eta=0.05, parameterization="ntk", gamma0=1.0, nu=math.inf),
    ]
    batch = solve_batch(configs)
    for c, ds in zip(configs, batch):
        one = solve(c)
        # vmapped matmuls may sum in another order: round-off only
        np.testing.assert_allclose(ds.train_loss_mean, one.train_loss_mean, rtol=1e-10)
        np.testing.assert_allclose(ds.test_loss_mean, one.test_loss_mean, rtol=1e-10)
        assert ds.attrs["config"] == one.attrs["config"]


def test_order_parameters_and_format():
    c = cfg(depth=2, noise=0.2)
    ds = solve(c, order_parameters=True)
    assert ds["C_g"].dims == ("layer", "step", "step2") and ds["C_g"].shape == (2, T + 1, T + 1)
    np.testing.assert_allclose(np.diagonal(ds["C_Delta"].values), ds.train_loss_mean, rtol=1e-12)
    np.testing.assert_allclose(np.diagonal(ds["C_a"].values) + 0.04, ds.test_loss_mean, rtol=1e-12)
    # causality (docs/theory.md, Sec. 4.3): R_g_xi strictly lower triangular, R_Delta_r(t,t) = 1
    assert np.all(np.triu(ds["R_g_xi"].values) == 0)
    np.testing.assert_array_equal(np.diagonal(ds["R_Delta_r"].values), 1.0)
    out = to_json(ds)
    assert out["engine"] == "theory" and out["diverged"] == {"count": 0, "steps": []}
    assert "sem" not in out["train_loss"] and len(out["step"]) == T + 1
    assert int(ds["diverged_step"]) == -1


def test_divergence_is_reported_not_raised():
    ds = solve(cfg(depth=1, eta=1.0))  # far above the stability edge (docs/model.md)
    first = int(ds["diverged_step"])
    assert 0 < first <= T
    assert np.all(np.isnan(ds.test_loss_mean.values[first:]))
    assert np.all(np.isfinite(ds.test_loss_mean.values[:first]))
    assert to_json(ds)["diverged"] == {"count": 1, "steps": [first]}
    with_ops = solve(cfg(depth=1, eta=1.0), order_parameters=True)
    assert int(with_ops["diverged_step"]) == first
    assert np.isnan(with_ops["C_u"].values[first:, :]).all() and np.isfinite(with_ops["C_u"].values[0, 0])


# ---------------------------------------------------------------------------------------------
# (f) clear errors for what the theory does not cover
# ---------------------------------------------------------------------------------------------
def test_batch_rejects_mixed_structure():
    with pytest.raises(ValueError, match="depth, steps"):
        solve_batch([cfg(depth=1), cfg(depth=2)])


def test_theory_ignores_dim():
    a = solve(cfg(dim=100))
    b = solve(cfg(dim=5000))
    np.testing.assert_array_equal(a.test_loss_mean, b.test_loss_mean)


def test_huge_horizon_refused_before_allocating():
    from deeplinear.config import ConfigError

    with pytest.raises(ConfigError, match=r"^steps: .*allowed: steps <= \d+"):
        solve(cfg(steps=20000))
