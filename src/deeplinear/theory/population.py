"""Long horizons: the exact population recursion of the one-hidden-layer net at infinite width
(docs/theory.md, Sec. 12.7, Eqs. 12.4-12.7).

At nu = inf, with population gradients (online SGD with b -> inf), depth L = 1 and any input spectrum,
the DMFT closes on O(K^2) numbers per step for K input-space types instead of T x T arrays: the
predictor of type k is beta_k(t) = p_k(t) beta*_k, and the learnt part of the first layer's Gram
matrix W0^T W0 / N - I is diag(beta*) m diag(beta*) / D with an K x K matrix m. So T = 10^4 - 10^6
steps cost seconds (the step-by-step DMFT keeps T x T arrays and needs minutes at T = 500), which is
what power-law learning curves need. The recursion equals the DMFT of the same configuration (online,
b -> inf) to round-off (tests/test_theory_population.py); it is not an approximation of it.

Not covered, because the DMFT's memory is genuinely two-time there: finite width (nu < inf: the random
initial output and its fluctuations), SGD noise at finite b and repeated data (finite alpha), and
depth L >= 2 (the N x N hidden layers carry a Marchenko-Pastur bulk whose powers enter at every step).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..config import Config, ConfigError, resolve
from ..results import make_theory_dataset
from . import _core, spectra
from ._api import _as_config, _divergence

__all__ = ["MIN_BATCH", "population_losses", "solve_population"]

#: online batch ratios b >= this are population GD here: the SGD noise the recursion leaves out is
#: O(1/b) (docs/theory.md, Eq. 10.2)
MIN_BATCH = 1e3


@partial(jax.jit, static_argnames="steps")
def population_losses(lam, b, w, eta, gamma0, steps: int):
    """Population loss v^T Sigma v / D at t = 0..steps (without sigma^2) of Eqs. (12.4)-(12.7).

    Types k with eigenvalue lam_k, target power b_k and weight w_k (Eq. 4.10); state: p_k (beta_k =
    p_k beta*_k), the K x K matrix m (W0^T W0 / N = I + diag(beta*) m diag(beta*) / D) and omega =
    |w^1|^2 / N; with eps_k = lam_k (1 - p_k) (so Sigma v = diag(beta*) eps), g = gamma0^2 and
    u = w b eps the weighted gradient,

        S1 = sum_k w_k b_k p_k eps_k                                  (beta . Sigma v / D)     (12.4)
        S2 = sum_k w_k b_k eps_k^2 + u^T m u                           (v^T Sigma M Sigma v / D)
        p'     = p + eta ((1 + omega) eps + m u) + eta^2 g S1 eps                              (12.5)
        m'     = m + eta g (p eps^T + eps p^T) + eta^2 g omega eps eps^T                       (12.6)
        omega' = omega + 2 eta g S1 + eta^2 g S2                                               (12.7)

    from p = 0, m = 0, omega = 1 (muP at nu = inf has no initial output).
    """
    g = gamma0**2

    def step(carry, _):
        p, m, omega = carry
        eps = lam * (1.0 - p)
        u = w * b * eps
        s1 = jnp.sum(w * b * p * eps)
        s2 = jnp.sum(w * b * eps * eps) + u @ m @ u
        loss = jnp.sum(w * lam * b * (1.0 - p) ** 2)
        p_next = p + eta * ((1.0 + omega) * eps + m @ u) + eta**2 * g * s1 * eps
        m_next = m + eta * g * (jnp.outer(p, eps) + jnp.outer(eps, p)) + eta**2 * g * omega * jnp.outer(eps, eps)
        return (p_next, m_next, omega + 2 * eta * g * s1 + eta**2 * g * s2), loss

    k = lam.shape[0]
    init = (jnp.zeros(k), jnp.zeros((k, k)), jnp.asarray(1.0))
    _, losses = jax.lax.scan(step, init, None, length=steps + 1)
    return losses


def check_population(config: Config) -> None:
    """A ConfigError naming the field when the recursion does not describe ``config``."""
    rules = [
        ("depth", config.depth == 1, "1 (deeper nets keep two-time memory in their hidden layers)"),
        ("residual", not config.residual, "false"),
        ("nu", math.isinf(config.nu), ".inf (finite width keeps the two-time memory of the initial output)"),
        ("alpha", config.online, ".inf (online SGD; repeated data keep two-time memory)"),
        ("batch", config.batch is not None and config.batch >= MIN_BATCH,
         f">= {MIN_BATCH:g} (population GD; the SGD noise of a finite batch is left out)"),
    ]
    for field, ok, allowed in rules:
        if not ok:
            raise ConfigError(f"{field}: the long-horizon population recursion (docs/theory.md, Sec. 12.7) "
                              f"needs {field} = {allowed}; got {getattr(config, field)!r}. Use solve() otherwise")


def solve_population(config: Config | dict[str, Any], bins: int = spectra.DEFAULT_BINS) -> xr.Dataset:
    """Learning curves of ``config`` from the population recursion (Sec. 12.7): the same Dataset as
    ``solve`` (train = test loss: a fresh infinite batch), with ``attrs['scheme']``. Any horizon the
    schema allows (steps <= 10^6); cost O(steps bins^2). NTK at nu = inf is its lazy limit (gamma0 -> 0),
    with the initial output's decay added exactly (it is linear there, Eq. 12.3)."""
    config = _as_config(config)
    check_population(config)
    types: _core.Types = spectra.spectrum_types(config, bins)
    lam, b, w = (np.asarray(x, float) for x in types)
    g0 = config.gamma0_effective
    test = np.asarray(population_losses(lam, b, w, config.eta, g0, config.steps))
    if g0 == 0.0:  # NTK at nu = inf: initial output of variance 1/gamma^2 per coordinate, lazy decay
        t = np.arange(config.steps + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            decay = (1.0 - 2.0 * config.eta * lam[:, None]) ** (2 * t[None, :])
            test = test + np.sum((w * lam)[:, None] * decay, axis=0) / config.gamma0**2
    test = test + config.noise**2
    train, test, first = _divergence(test.copy(), test)
    ds = make_theory_dataset(train, test, resolve(config), first)
    ds.attrs["scheme"] = "population recursion (nu = inf, b -> inf, L = 1; docs/theory.md Sec. 12.7)"
    return ds
