"""The measured stability edge (simulation/sharpness.py) against an explicit tangent kernel, and what it
predicts: lazy GD blows up along the top mode past eta lambda_max = 2."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from deeplinear.config import parse_config
from deeplinear.simulation import simulate
from deeplinear.simulation.engine import initial_state
from deeplinear.simulation.network import arch_of, predictor
from deeplinear.simulation import initial_sharpness


@pytest.mark.parametrize("kw", [dict(depth=2), dict(depth=3, residual=True, beta_res=2.0), dict(depth=1, alpha=8.0)])
def test_power_iteration_equals_the_explicit_kernel(kw):
    cfg = parse_config(dict(nu=1.5, alpha=3.0, gamma0=0.7, eta=0.05) | kw)
    dim = 24
    params, _, x, _, _ = initial_state(cfg, dim, seed=0)
    J = jax.jacfwd(lambda p: predictor(p, arch_of(cfg)))(params)  # pytree of (D, *shape)
    J = np.concatenate([np.asarray(j).reshape(dim, -1) for j in jax.tree_util.tree_leaves(J)], axis=1)
    width = round(cfg.nu * dim)
    M = cfg.gamma0**2 * width / dim * J @ J.T
    sigma_hat = np.asarray(x.T @ x) / x.shape[0]
    top = np.max(np.linalg.eigvals(sigma_hat @ M).real)
    assert initial_sharpness(cfg, dim, seeds=1, iters=400)[0] == pytest.approx(cfg.eta * top, rel=1e-6)


def test_past_the_measured_edge_the_loss_catapults():
    # close to lazy (small gamma0, wide): 10% below 2 / lambda_max every step lowers the train loss; 10%
    # above it the top mode grows by |1 - 1.1 * 2| = 1.2 per step and the loss rises before feature
    # learning lowers the sharpness and it falls again (measured: 10.8 at t = 1, 15.4 at t = 5, 4e-13 at
    # t = 150)
    base = parse_config(dict(depth=1, nu=16.0, alpha=2.0, gamma0=0.05, eta=1.0, steps=150, seeds=1))
    top = initial_sharpness(base, 32, seeds=1, iters=300)[0]
    below = simulate(base.replace(eta=0.9 * 2 / top), dim=32, seeds=1).train_loss.values[0]
    above = simulate(base.replace(eta=1.1 * 2 / top), dim=32, seeds=1).train_loss.values[0]
    assert np.all(np.diff(below) <= 0)
    assert np.max(above[1:]) > 1.2 * above[1]
