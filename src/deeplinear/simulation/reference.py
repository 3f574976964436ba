"""A plain autograd training loop of the same model: the yardstick for the fast engine.

It does what a generic framework would: a forward pass of all P samples through every layer and
``jax.grad`` of Lhat/2. Used by the tests (exactness of the rank-one step) and by
``benchmarks/simulator_speed.py`` (speed ratio).
"""

from __future__ import annotations

from functools import partial

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from .network import Arch, Params, output  # noqa: E402

__all__ = ["half_train_loss", "autograd_step"]


def half_train_loss(params: Params, x: jax.Array, y: jax.Array, arch: Arch) -> jax.Array:
    """Lhat / 2 = (1/2P) sum_mu (f(x_mu) - y_mu)^2."""
    return 0.5 * jnp.mean((output(params, x, arch) - y) ** 2)


@partial(jax.jit, static_argnames=("arch",))
def autograd_step(params: Params, x: jax.Array, y: jax.Array, arch: Arch, eta: float) -> Params:
    """theta <- theta - eta gamma0^2 N grad_theta(Lhat/2), gradient by reverse-mode autodiff."""
    lr = eta * arch.gamma0**2 * params.w.shape[0]
    grad = jax.grad(half_train_loss)(params, x, y, arch)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grad)
