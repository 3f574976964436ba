"""The finite-size engine: exact rank-one gradients, reference equality, NTK mapping, invariants."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deeplinear import parse_config, simulate
from deeplinear.simulation import arch_of, gradient, init_params, predictor
from deeplinear.simulation.engine import initial_state
from deeplinear.simulation.network import output
from deeplinear.simulation.reference import autograd_step, half_train_loss


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("residual", [False, True])
def test_rank_one_gradient_equals_autodiff(depth, residual):
    cfg = parse_config(depth=depth, residual=residual, beta_res=0.7, gamma0=0.6, nu=1.5)
    arch = arch_of(cfg)
    D, N, P = 7, 11, 13
    kp, kx, ky = jax.random.split(jax.random.PRNGKey(depth + 10 * residual), 3)
    params = init_params(kp, D, N, depth)
    x = jax.random.normal(kx, (P, D))
    y = jax.random.normal(ky, (P,))
    # e = (1/P) sum (f - y) x : the single input at which f's gradient is the loss gradient (eq. R1)
    e = x.T @ (output(params, x, arch) - y) / P
    fast = gradient(params, e, arch)
    auto = jax.grad(half_train_loss)(params, x, y, arch)
    for name in ("W0", "W", "w"):
        a, b = getattr(fast, name), getattr(auto, name)
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * max(1.0, float(jnp.abs(b).max(initial=0.0))))
    # the effective predictor reproduces the network output
    np.testing.assert_allclose(x @ predictor(params, arch) / math.sqrt(D), output(params, x, arch), atol=1e-12)


@pytest.mark.parametrize("residual,alpha", [(False, 1.5), (True, 1.5)])
def test_simulator_equals_autograd_loop(residual, alpha):
    cfg = parse_config(depth=3, residual=residual, nu=1.25, alpha=alpha, gamma0=0.8, eta=0.05, noise=0.3, steps=12)
    dim = 16
    params, beta_star, x, y, eig = initial_state(cfg, dim, seed=3)
    arch = arch_of(cfg)

    @jax.jit
    def losses(p):
        v = beta_star - predictor(p, arch)
        return 2 * half_train_loss(p, x, y, arch), jnp.sum(eig * v**2) / dim + cfg.noise**2

    train, test = [], []
    for _ in range(cfg.steps + 1):
        tr, te = losses(params)
        train.append(float(tr))
        test.append(float(te))
        params = autograd_step(params, x, y, arch, cfg.eta)
    ds = simulate(cfg, dim=dim, seeds=1, first_seed=3)
    np.testing.assert_allclose(ds.train_loss.values[0], train, rtol=1e-10)
    np.testing.assert_allclose(ds.test_loss.values[0], test, rtol=1e-10)


def test_gram_form_step_equals_data_form():
    """Eq. G1: the losses and gradient direction from (X^T X / P, X^T y / P, y.y / P) equal those from X."""
    from deeplinear.simulation.engine import _losses_and_direction, _setup, gram_data
    from deeplinear.simulation.network import backward

    cfg = parse_config(depth=2, residual=True, nu=1.25, alpha=5.0, gamma0=0.8, eta=0.05, noise=0.3, steps=3)
    dim = 12
    params, beta_star, x, y, eig = initial_state(cfg, dim, seed=3)
    st, hp, _, _ = _setup(cfg, dim)
    deltas = backward(params, hp.arch)
    key = jax.random.PRNGKey(0)
    data = _losses_and_direction(params, deltas, beta_star, x, y, key, eig, st._replace(gram=False), hp)
    gram = _losses_and_direction(params, deltas, beta_star, *gram_data(x, y), key, eig, st._replace(gram=True), hp)
    for a, b in zip(data, gram):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spectrum", [{"kind": "isotropic"}, {"kind": "powerlaw", "a": 1.5, "s": 0.5}])
def test_sampled_gram_has_the_law_of_a_training_set(spectrum):
    """Eq. G2: the Bartlett-sampled Gram data have the mean and variance, entry by entry, of
    ``gram_data`` of explicit training sets (a wrong degree of freedom or scale fails by many sem)."""
    from deeplinear.data import sample_teacher, spectrum as spectrum_of, training_set
    from deeplinear.simulation.engine import gram_data, sampled_gram

    cfg = parse_config(alpha=5.0, noise=0.5, spectrum=spectrum)
    dim, draws = 6, 20_000
    samples = round(cfg.alpha * dim)
    eig, target = (jnp.asarray(a) for a in spectrum_of(cfg, dim))
    beta_star = sample_teacher(jax.random.PRNGKey(0), target)

    def flat(kx):
        xx, xy = kx
        return jnp.concatenate([xx.ravel(), xy])

    fast = jax.vmap(lambda k: flat(sampled_gram(k, samples, eig, beta_star, cfg.noise)))(
        jax.random.split(jax.random.PRNGKey(1), draws))
    slow = jax.vmap(lambda k: flat(gram_data(*training_set(k, samples, eig, beta_star, cfg.noise))))(
        jax.random.split(jax.random.PRNGKey(2), draws))
    for moment in (lambda a: a, lambda a: (a - a.mean(0)) ** 2):
        fa, fb = np.asarray(moment(fast)), np.asarray(moment(slow))
        z = (fa.mean(0) - fb.mean(0)) / np.sqrt((fa.var(0) + fb.var(0)) / draws)
        assert np.max(np.abs(z)) < 5.0, z


def test_ntk_network_written_directly_matches_family():
    """f = w.h/(gamma sqrt(N)), raw step eta gamma^2 D  ==  the family with gamma0 = gamma / sqrt(nu)."""
    depth, D, N, P, gamma, eta, T = 2, 10, 40, 15, 1.3, 0.07, 15
    cfg = parse_config(depth=depth, nu=N / D, alpha=P / D, parameterization="ntk", gamma0=gamma, eta=eta, steps=T)
    params, beta_star, x, y, eig = initial_state(cfg, D, seed=5)

    def f_ntk(p, xs):  # an independent, literal NTK network
        h = xs @ p.W0.T / math.sqrt(D)
        for W in p.W:
            h = h @ W.T / math.sqrt(N)
        return h @ p.w / (gamma * math.sqrt(N))

    def loss(p):
        return 0.5 * jnp.mean((f_ntk(p, x) - y) ** 2)

    @jax.jit
    def step(p):
        value, g = jax.value_and_grad(loss)(p)
        return jax.tree_util.tree_map(lambda a, b: a - eta * gamma**2 * D * b, p, g), 2 * value

    p, curve = params, []
    for _ in range(T + 1):
        p, value = step(p)
        curve.append(float(value))
    ds = simulate(cfg, dim=D, seeds=1, first_seed=5)
    assert math.isclose(cfg.gamma0_effective, gamma / math.sqrt(N / D))
    np.testing.assert_allclose(ds.train_loss.values[0], curve, rtol=1e-12)


def _feature_change(gamma, nu, steps=10, dim=64):
    """Relative change of W0 (hence of every feature h^1 = W0 x/sqrt(D)) after training.

    NTK parameterisation, gamma0 = gamma/sqrt(nu): the initial output stays O(1) as the width grows,
    so the error driving the features is O(1) and only gamma0 sets how far the features move.
    """
    cfg = parse_config(depth=2, parameterization="ntk", gamma0=gamma, nu=nu, eta=0.05, alpha=2.0, steps=steps)
    params, beta_star, x, y, eig = initial_state(cfg, dim, seed=0)
    arch = arch_of(cfg)
    W0 = params.W0
    for _ in range(steps):
        params = autograd_step(params, x, y, arch, cfg.eta)
    return float(jnp.linalg.norm(params.W0 - W0) / jnp.linalg.norm(W0)), cfg.gamma0_effective


def test_features_move_in_proportion_to_gamma0():
    moves = [_feature_change(1.0, nu) for nu in (1.0, 4.0, 16.0, 64.0)]
    ratios = [m / g0 for m, g0 in moves]
    # movement / gamma0 is constant as gamma0 shrinks 8-fold: features move in proportion to gamma0
    assert max(ratios) / min(ratios) < 1.4
    assert moves[-1][0] < 0.2 * moves[0][0]  # small gamma0: nearly frozen


def test_tiny_eta_decreases_test_loss():
    ds = simulate(parse_config(eta=1e-4, steps=10), dim=100, seeds=4)
    per_seed = ds.test_loss.values
    assert np.all(np.diff(per_seed, axis=1) < 0)


@pytest.mark.parametrize("gamma0,nu,noise", [(1.0, 1.0, 0.0), (0.5, 2.0, 0.5), (0.2, 1.0, 0.0)])
def test_initial_test_loss(gamma0, nu, noise):
    cfg = parse_config(depth=2, gamma0=gamma0, nu=nu, noise=noise, steps=1)
    ds = simulate(cfg, dim=200, seeds=32)
    expected = 1 + noise**2 + 1 / (gamma0**2 * nu)
    mean, sem = float(ds.test_loss_mean[0]), float(ds.test_loss_sem[0])
    assert abs(mean - expected) < 4 * sem + 0.02 * expected


def test_same_seed_same_curve_and_seeds_differ():
    cfg = parse_config(steps=5)
    a = simulate(cfg, dim=64, seeds=3)
    b = simulate(cfg, dim=64, seeds=3)
    np.testing.assert_array_equal(a.test_loss.values, b.test_loss.values)
    assert not np.allclose(a.test_loss.values[0], a.test_loss.values[1])
    # seed i does not depend on how many other seeds run alongside it
    c = simulate(cfg, dim=64, seeds=1, first_seed=2)
    np.testing.assert_allclose(c.test_loss.values[0], a.test_loss.values[2], rtol=1e-12)


def test_divergence_is_flagged_with_its_step():
    cfg = parse_config(eta=1.0, steps=40)
    ds = simulate(cfg, dim=64, seeds=3)
    div = ds.diverged_step.values
    assert np.all(div > 0)
    for s, d in enumerate(div):
        assert np.all(np.isfinite(ds.test_loss.values[s, :d]))
        assert np.all(np.isnan(ds.test_loss.values[s, d:]))
    assert np.all(np.isnan(ds.test_loss_mean.values))  # every seed diverged: no mean


def test_online_sgd_train_loss_is_batch_loss():
    cfg = parse_config(alpha=float("inf"), batch=2.0, noise=0.5, eta=0.05, steps=5)
    ds = simulate(cfg, dim=100, seeds=16)
    # a fresh batch: the batch loss is an unbiased estimate of the test loss at every step
    gap = ds.train_loss_mean - ds.test_loss_mean
    err = np.sqrt(ds.train_loss_sem**2 + ds.test_loss_sem**2)
    assert np.all(np.abs(gap) < 5 * err)


def _moments(e, u, q):
    """Projections and second moments of draws e (draws, D); a scalar draw is kept as is."""
    if e.ndim == 1:
        return e
    eu, eq = e @ u, e @ q
    return jnp.stack([eu, eq, eu**2, eq**2, jnp.sum(e * e, 1)], 1)


def test_fresh_batch_has_the_law_of_an_explicit_batch():
    """eq. O1 directly: over many draws at a fixed predictor error v, the gradient direction e and
    the batch loss have the mean and second moments of an explicit B x D batch (a gradient 5% too
    large fails this by 6 standard errors)."""
    from deeplinear.data import sample_inputs, spectrum
    from deeplinear.simulation.engine import _fresh_batch, _setup

    cfg = parse_config(alpha=float("inf"), batch=0.4, noise=0.5, spectrum={"kind": "powerlaw", "a": 1.5, "s": 0.5})
    dim, draws = 20, 10_000
    st, hp, eig, _ = _setup(cfg, dim)
    v = jax.random.normal(jax.random.PRNGKey(1), (dim,)) * 2.0
    u = jax.random.normal(jax.random.PRNGKey(2), (dim,))

    def explicit(key):
        kx, ke = jax.random.split(key)
        x = sample_inputs(kx, st.samples, eig)
        resid = x @ v / math.sqrt(dim) + cfg.noise * jax.random.normal(ke, (st.samples,))
        return jnp.mean(resid**2), -(resid @ x) / st.samples

    keys = jax.random.split(jax.random.PRNGKey(3), draws)
    fast = jax.vmap(lambda k: _fresh_batch(k, v, eig, st, hp))(keys)
    slow = jax.vmap(explicit)(jax.random.split(jax.random.PRNGKey(4), draws))
    q = jnp.sqrt(eig) * v
    for a, b in zip(fast, slow):
        fa, fb = (np.asarray(_moments(f, u, q)).reshape(draws, -1) for f in (a, b))
        z = (fa.mean(0) - fb.mean(0)) / np.sqrt((fa.var(0) + fb.var(0)) / draws)
        assert np.max(np.abs(z)) < 4.5, z


def test_powerlaw_spectrum_normalisation():
    from deeplinear.data import spectrum

    cfg = parse_config(spectrum={"kind": "powerlaw", "a": 1.5, "s": 0.5})
    for dim in (100, 1000):
        lam, b = spectrum(cfg, dim)
        assert lam[0] == 1.0 and np.all(np.diff(lam) < 0)
        assert np.sum(lam * b) / dim == pytest.approx(1.0)
    ds = simulate(cfg.replace(steps=2), dim=200, seeds=16)
    expected = 1 + 1 / (cfg.gamma0**2 * cfg.nu) * float(np.mean(spectrum(cfg, 200)[0]))
    assert ds.test_loss_mean[0] == pytest.approx(expected, rel=0.15)


def test_absurd_size_refused_before_allocating():
    from deeplinear import ConfigError

    with pytest.raises(ConfigError, match="dim: D=1000000"):
        simulate(parse_config(steps=1), dim=1_000_000, seeds=1)
