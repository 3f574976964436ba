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
The training loop keeps the last K updates of each matrix as factors (``LowRank``):

    W(t) = W(t0) + sum_{t0 <= r < t} u_r v_r^T,    t - t0 < K,                     (eq. R3)

so a step only reads W(t0) (for the backward and the forward pass) and every K steps one matrix
product folds the block in; dense and factored weights give the same numbers up to rounding.
"""

from __future__ import annotations

from typing import NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from ..config import Config  # noqa: E402

__all__ = [
    "Arch", "Params", "LowRank", "arch_of", "init_params", "output", "backward", "predictor",
    "gradient_factors", "gradient", "gd_update", "low_rank", "fold", "matvec", "vecmat",
]


class Params(NamedTuple):
    """Weights: W0 (N, D), hidden W (L-1, N, N) stacked, readout w (N,).

    A matrix is a dense array or a :class:`LowRank` (the training loop keeps a block of updates
    unapplied); every function here takes either.
    """

    W0: jax.Array
    W: jax.Array
    w: jax.Array


class LowRank(NamedTuple):
    """The matrix ``base + sum_j left[j] right[j]^T`` (left (..., K, rows), right (..., K, cols)).

    GD adds one rank-one term per step (eq. R2). Keeping the last K terms as factors, a step reads
    each matrix twice (backward and forward pass) instead of also rewriting it; ``fold`` applies the
    block with one matrix product every K steps (eq. R3).
    """

    base: jax.Array
    left: jax.Array
    right: jax.Array


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


def matvec(M, x: jax.Array) -> jax.Array:
    """M x for x (..., cols)."""
    # einsum, not M @ x: XLA:CPU runs a transposed matrix-vector product ~15x slower
    if isinstance(M, LowRank):
        coef = jnp.einsum("kd,...d->...k", M.right, x)
        return jnp.einsum("nd,...d->...n", M.base, x) + jnp.einsum("kn,...k->...n", M.left, coef)
    return jnp.einsum("nd,...d->...n", M, x)


def vecmat(y: jax.Array, M) -> jax.Array:
    """y^T M for y (rows,), as a row product."""
    if isinstance(M, LowRank):
        return y @ M.base + (M.left @ y) @ M.right
    return y @ M


def low_rank(params: Params, rank: int) -> Params:
    """The same weights with room for ``rank`` unapplied rank-one updates per matrix (all zero)."""

    def wrap(M):
        rows, cols = M.shape[-2:]
        lead = M.shape[:-2]
        return LowRank(M, jnp.zeros(lead + (rank, rows)), jnp.zeros(lead + (rank, cols)))

    return params._replace(W0=wrap(params.W0), W=wrap(params.W))


def fold(params: Params) -> Params:
    """Apply the stored updates to the base matrices and clear them (eq. R3)."""

    def apply(M):
        base = M.base + jnp.einsum("...kn,...kd->...nd", M.left, M.right)
        return LowRank(base, jnp.zeros_like(M.left), jnp.zeros_like(M.right))

    return params._replace(W0=apply(params.W0), W=apply(params.W))


def _shape(params: Params) -> tuple[int, int]:
    """(N, D)."""
    W0 = params.W0.base if isinstance(params.W0, LowRank) else params.W0
    return W0.shape


def _scale(params: Params, arch: Arch) -> jax.Array:
    width, dim = _shape(params)
    return jnp.sqrt(dim) / (arch.gamma0 * width)


def _hidden(params: Params, x: jax.Array, arch: Arch) -> tuple[jax.Array, jax.Array]:
    """Forward pass of inputs x (..., D): (h^L, stacked h^1..h^{L-1})."""
    width, dim = _shape(params)
    h1 = matvec(params.W0, x) / jnp.sqrt(dim)

    def layer(h, W):
        return arch.s * h + arch.a * matvec(W, h) / jnp.sqrt(width), h

    return jax.lax.scan(layer, h1, params.W)


def output(params: Params, x: jax.Array, arch: Arch) -> jax.Array:
    """f(x) for inputs x (..., D), by a plain forward pass (the autograd reference uses this)."""
    h_last, _ = _hidden(params, x, arch)
    return _scale(params, arch) * h_last @ params.w


def backward(params: Params, arch: Arch) -> tuple[jax.Array, jax.Array]:
    """(delta^1, stacked delta^2..delta^L) with delta^L = w (eq. R2)."""
    width, _ = _shape(params)

    def layer(delta_next, W):
        return arch.s * delta_next + arch.a * vecmat(delta_next, W) / jnp.sqrt(width), delta_next  # W^T delta

    return jax.lax.scan(layer, params.w, params.W, reverse=True)


def predictor(params: Params, arch: Arch, deltas=None) -> jax.Array:
    """beta with f(x) = beta . x / sqrt(D):  beta = c W^{0T} delta^1 (``deltas``: a precomputed backward)."""
    delta1, _ = backward(params, arch) if deltas is None else deltas
    return _scale(params, arch) * vecmat(delta1, params.W0)


def gradient_factors(params: Params, e: jax.Array, arch: Arch, deltas=None) -> Params:
    """The rank-one factors (u, v) of grad_W (Lhat/2) = u v^T for W0 and each W^l, and grad_w (eq. R2)."""
    width, dim = _shape(params)
    c = _scale(params, arch)
    delta1, deltas_up = backward(params, arch) if deltas is None else deltas
    h_last, hs = _hidden(params, e, arch)
    return Params(
        W0=(c * delta1, e / jnp.sqrt(dim)),
        W=(c * arch.a * deltas_up, hs / jnp.sqrt(width)),
        w=c * h_last,
    )


def gradient(params: Params, e: jax.Array, arch: Arch) -> Params:
    """grad_theta (Lhat/2) = grad_theta f(e), every matrix rank one (eqs. R1-R2), as dense arrays."""
    g = gradient_factors(params, e, arch)
    return Params(
        W0=jnp.outer(*g.W0),
        W=g.W[0][:, :, None] * g.W[1][:, None, :],
        w=g.w,
    )


def gd_update(params: Params, e: jax.Array, arch: Arch, eta: float, slot=None, deltas=None) -> Params:
    """theta <- theta - eta gamma0^2 N grad_theta(Lhat/2) (docs/model.md, 'Gradient descent').

    Dense matrices are updated in place; a :class:`LowRank` one stores the update in factor ``slot``.
    """
    lr = eta * arch.gamma0**2 * params.w.shape[0]
    g = gradient_factors(params, e, arch, deltas)

    def update(M, uv):
        u, v = uv
        if isinstance(M, LowRank):
            return M._replace(left=M.left.at[..., slot, :].set(-lr * u), right=M.right.at[..., slot, :].set(v))
        return M - lr * u[..., :, None] * v[..., None, :]

    return Params(W0=update(params.W0, g.W0), W=update(params.W, g.W), w=params.w - lr * g.w)
