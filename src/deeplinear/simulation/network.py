"""The deep linear network of docs/model.md and its exact rank-one gradient.

Network (s, a) = (0, 1) plain, (1, beta_res/sqrt(L)) residual:

    h^1 = W^0 x / sqrt(D),   h^{l+1} = s h^l + a W^l h^l / sqrt(N),   f(x) = c w . h^L,
    c = sqrt(D) / (gamma0 N).

Because f is linear in x, the loss gradient is the gradient of f at one input vector:
grad_theta(Lhat/2) = grad_theta f(e) with e = (1/P) sum_mu (f(x_mu) - y_mu) x_mu   (eq. R1).
With backward vectors delta^L = w, delta^l = s delta^{l+1} + a W^{lT} delta^{l+1} / sqrt(N):

    grad_w f(e)   = c h^L(e)
    grad_W^l f(e) = c a delta^{l+1} h^l(e)^T / sqrt(N)      l = 1..L-1
    grad_W^0 f(e) = c delta^1 e^T / sqrt(D)                                  (eq. R2)

each rank one, and the effective predictor is beta = c W^{0T} delta^1 (f(x) = beta . x / sqrt(D)).
A step costs O(L N^2 + N D) here plus O(P D) for e, instead of a forward pass per sample.
"""

from __future__ import annotations

from typing import NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from ..config import Config  # noqa: E402

__all__ = ["Arch", "Params", "arch_of", "init_params", "output", "predictor", "gradient", "gd_update"]


class Params(NamedTuple):
    """Weights: W0 (N, D), hidden W (L-1, N, N) stacked, readout w (N,)."""

    W0: jax.Array
    W: jax.Array
    w: jax.Array


class Arch(NamedTuple):
    """Static architecture constants: branch (s, a) and output scale gamma0 (model family value)."""

    s: float
    a: float
    gamma0: float


def arch_of(config: Config) -> Arch:
    s, a = config.branch_scale
    return Arch(s=s, a=a, gamma0=config.gamma0_effective)


def init_params(key: jax.Array, dim: int, width: int, depth: int) -> Params:
    """All entries i.i.d. N(0, 1)."""
    k0, k1, k2 = jax.random.split(key, 3)
    return Params(
        W0=jax.random.normal(k0, (width, dim)),
        W=jax.random.normal(k1, (depth - 1, width, width)),
        w=jax.random.normal(k2, (width,)),
    )


def _out_scale(params: Params, arch: Arch) -> jax.Array:
    width, dim = params.W0.shape
    return jnp.sqrt(dim) / (arch.gamma0 * width)


def _hidden(params: Params, x: jax.Array, arch: Arch) -> tuple[jax.Array, jax.Array]:
    """Forward pass of inputs x (..., D): (h^L, stacked h^1..h^{L-1})."""
    width, dim = params.W0.shape
    # W @ h written as einsum: XLA:CPU runs a transposed matrix-vector product ~15x slower
    h1 = jnp.einsum("nd,...d->...n", params.W0, x) / jnp.sqrt(dim)

    def layer(h, W):
        return arch.s * h + arch.a * jnp.einsum("nm,...m->...n", W, h) / jnp.sqrt(width), h

    return jax.lax.scan(layer, h1, params.W)


def output(params: Params, x: jax.Array, arch: Arch) -> jax.Array:
    """f(x) for inputs x (..., D), by a plain forward pass (the autograd reference uses this)."""
    h_last, _ = _hidden(params, x, arch)
    return _out_scale(params, arch) * h_last @ params.w


def _backward(params: Params, arch: Arch) -> tuple[jax.Array, jax.Array]:
    """(delta^1, stacked delta^2..delta^L) with delta^L = w (eq. R2)."""
    width = params.w.shape[0]

    def layer(delta_next, W):
        return arch.s * delta_next + arch.a * (delta_next @ W) / jnp.sqrt(width), delta_next  # W^T delta

    return jax.lax.scan(layer, params.w, params.W, reverse=True)


def predictor(params: Params, arch: Arch) -> jax.Array:
    """beta with f(x) = beta . x / sqrt(D):  beta = c W^{0T} delta^1."""
    delta1, _ = _backward(params, arch)
    return _out_scale(params, arch) * (delta1 @ params.W0)  # W0^T delta1, as a row product


def gradient(params: Params, e: jax.Array, arch: Arch) -> Params:
    """grad_theta (Lhat/2) = grad_theta f(e), every matrix rank one (eqs. R1-R2)."""
    width, dim = params.W0.shape
    c = _out_scale(params, arch)
    delta1, deltas = _backward(params, arch)
    h_last, hs = _hidden(params, e, arch)
    return Params(
        W0=c * jnp.outer(delta1, e) / jnp.sqrt(dim),
        W=c * arch.a * deltas[:, :, None] * hs[:, None, :] / jnp.sqrt(width),
        w=c * h_last,
    )


def gd_update(params: Params, e: jax.Array, arch: Arch, eta: float) -> Params:
    """theta <- theta - eta gamma0^2 N grad_theta(Lhat/2) (docs/model.md, 'Gradient descent')."""
    lr = eta * arch.gamma0**2 * params.w.shape[0]
    grad = gradient(params, e, arch)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grad)
