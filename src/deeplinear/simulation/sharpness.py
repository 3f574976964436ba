"""The measured stability edge: eta * lambda_max of the initial tangent kernel on the training data.

Lazy GD on the model of docs/model.md moves the gradient vector e = Sigma_hat beta / sqrt(D) - X^T y / (P sqrt(D))
by the iteration matrix I - eta Sigma_hat M, with M = gamma0^2 N J J^T / D the tangent kernel in beta-space
(J = d beta / d theta at initialisation). GD is stable near initialisation only if
eta lambda_max(Sigma_hat M) < 2. On isotropic data at infinite width lambda_max is (mean kernel) times
the top of the Marchenko-Pastur bulk (``theory.optimal.lazy_edge``); at finite nu the kernel's own
spectrum has a long upper tail (deep residual nets with beta_res = 2 at nu = 1: ~3x the mean-kernel
estimate), which only a measurement on the actual network sees. This measures it by power iteration,
with J applied through ``jax.jvp`` / ``jax.vjp`` of the predictor (never formed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..config import Config
from ..data import sample_inputs
from .engine import initial_state
from .network import arch_of, predictor

__all__ = ["initial_sharpness"]


def _top_eigenvalue(apply, dim: int, key, iters: int) -> jax.Array:
    """Power iteration for the dominant eigenvalue of a linear map with real non-negative spectrum."""

    def body(_, carry):
        u, _ = carry
        w = apply(u)
        norm = jnp.linalg.norm(w)
        return w / norm, norm

    u0 = jax.random.normal(key, (dim,))
    return jax.lax.fori_loop(0, iters, body, (u0 / jnp.linalg.norm(u0), jnp.asarray(0.0)))[1]


def initial_sharpness(config: Config, dim: int, seeds: int = 2, iters: int = 100) -> np.ndarray:
    """eta * lambda_max(Sigma_hat M) at initialisation, one value per seed (the weights and data that
    ``simulate`` draws for that seed; online SGD: Sigma_hat of one batch of B = b D samples). Values
    >= 2 mean lazy GD at this eta is unstable along the top mode."""
    arch = arch_of(config)
    width = max(1, round(config.nu * dim))
    scale = config.gamma0_effective**2 * width / dim  # M = gamma0^2 N J J^T / D (nu is finite here)

    @jax.jit  # one compilation for every seed: params and data are arguments, not constants
    def top(params, x, key):
        beta_of = lambda p: predictor(p, arch)  # noqa: E731
        _, vjp = jax.vjp(beta_of, params)

        def apply(u):
            (jt_u,) = vjp(u)
            m_u = scale * jax.jvp(beta_of, (params,), (jt_u,))[1]
            return x.T @ (x @ m_u) / x.shape[0]  # Sigma_hat M u

        return _top_eigenvalue(apply, dim, key, iters)

    out = []
    for seed in range(seeds):
        params, _, x, _, eig = initial_state(config, dim, seed)
        if config.online:
            x = sample_inputs(jax.random.PRNGKey(10_000 + seed), max(1, round(config.batch * dim)), jnp.asarray(eig))
        out.append(config.eta * float(top(params, x, jax.random.PRNGKey(seed))))
    return np.array(out)
