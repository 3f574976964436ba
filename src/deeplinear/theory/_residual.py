"""The causal DMFT solver for residual deep linear nets (docs/theory.md, Sec. 11), and its infinite-depth limit.

h^{l+1} = h^l + a W^l h^l / sqrt(N), a = ``config.branch_scale`` (beta_res / sqrt(L)): hidden unit i is the same coordinate in
every layer, so ONE N-space site carries all L layers and every layer field is a linear combination
of the sources of all layers. The D-space and P-space are those of the plain net and are shared with
``_core`` (``_core.data_step``); only the N-space differs, Eqs. (11.1)-(11.4):

    backward pass (g^L -> g^1)  ->  D-space v, P-space Delta, D-space u  ->  forward pass (chi^1 -> chi^L).

Layouts (n = T + 1 time points, L layers):

* N-space site, sources (S = 2 L n columns, block b of n columns each):
  blocks b = 0..L-1: xi~^{b+1}(0..n-1)  (from W^b; covariance C_below^{b+1}: C_u for b = 0, else C_chi^b);
  blocks b = L..2L-1: zeta~^{b-L+1}(0..n-1) (from W^{b-L+1}^T; covariance C_above = C_g^{b-L+2}; the
  last block is the readout w^L(0), a GP with all-ones covariance as in Eq. 4.8).
  ``X[i]``, ``G[i]`` = coefficients of chi^{i+1}, g^{i+1}, each (n, S): a tuple of L arrays up to
  ``UNROLL_DEPTH`` layers, an (L, n, S) stack beyond.
* ``Cov`` (2L + 2, n, n): [C_u, C_chi^1..C_chi^L, C_g^1..C_g^L, ones] (chi^l at index l with chi^0 = u,
  g^l at L + l with g^{L+1} = the readout's constant), filled in as the order parameters become known;
  source block b has covariance Cov[b] (b < L) or Cov[b + 2] (b >= L), Eq. (11.5).
* D-space and P-space: exactly ``_core.State``'s V, U, Ca, Cu, Dl, CD.

Cost per step O(L^2 T^2), in total O(L^2 T^3) time and O(L^2 T^2) memory (Sec. 11.5).

Infinite depth (Sec. 11.7): the forward-backward equations in layer time tau = l/L are solved on grids of
M/4, M/2 and M steps dtau = 1/M; a grid of M steps is this solver at L = M + 1 with the branch scale
``step_scale`` (Eq. 11.12), and ``richardson`` removes the O(1/M) error (Eq. 11.13).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)  # float64 before any array is made

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from ._core import VMAP_CHUNK, Params, Types, data_step, first_layer_response, masks  # noqa: E402
from ._core import State as PlainState  # noqa: E402

__all__ = ["State", "Cross", "run", "run_batch", "state_floats", "DEPTH_STEPS", "depth_grids", "step_scale",
           "richardson", "run_infinite"]

#: nets up to this depth keep one array per layer (a tuple) and unroll the layer loop at trace time; deeper
#: ones scan over stacked layers, compiled once for every L. Measured (Sec. 11.5): a step of the unrolled
#: loop is ~2x faster (XLA:CPU copies every dynamically indexed layer of a stack before a matrix-vector
#: product), but its compile time grows with L (3 s at L = 2, 5-7 s at L = 8, 9-12 s at L = 16, against
#: ~3 s for the scan at any L); beyond L = 8 the compile time saved outweighs the slower steps up to T ~ 150
UNROLL_DEPTH = 8
#: layer-time steps M of the finest grid of an infinite-depth solve (Sec. 11.7; grids M/4, M/2, M)
DEPTH_STEPS = 32


class State(NamedTuple):
    X: tuple | jnp.ndarray  # chi^l, l = 1..L: L x (n, 2Ln), or (L, n, 2Ln) beyond UNROLL_DEPTH
    G: tuple | jnp.ndarray  # g^l, the same layout
    Cov: jnp.ndarray  # (2L+2, n, n) [C_u, C_chi^1..C_chi^L, C_g^1..C_g^L, ones]: chi^l at l, g^l at L + l
    V: jnp.ndarray  # (K, n, 1+2n) v
    U: jnp.ndarray  # (K, n, 1+2n) u
    Ca: jnp.ndarray  # (n, n)  <lam v v>_D
    Cu: jnp.ndarray  # (n, n)  <u u>_D
    Dl: jnp.ndarray  # (n, n+1) Delta
    CD: jnp.ndarray  # (n, n)  <Delta Delta>_P


class Cross(NamedTuple):
    """Cross-layer functions (layer l, layer m, t, s), Sec. 11.3: C_g[l, m] = <g^l(t) g^m(s)>,
    C_chi[l, m] = <chi^l(t) chi^m(s)>, R_g_xi[l, m] = <d g^l(t)/d xi^m(s)>, R_chi_zeta[l, m] =
    <d chi^l(t)/d zeta^m(s)> (layer L's "zeta" is w^L(0))."""

    C_g: jnp.ndarray
    C_chi: jnp.ndarray
    R_g_xi: jnp.ndarray
    R_chi_zeta: jnp.ndarray


def state_floats(depth: int) -> int:
    """Float64 numbers of the solver state per n^2 (n = T + 1): coefficients 2 L (2 L n) n, covariances
    (2 L + 2) n^2, D-space 2 (2 n) n and P-space ~4 n^2 (Sec. 11.5)."""
    return 4 * depth * depth + 2 * depth + 10


def _init(depth: int, n: int, K: int) -> State:
    z = jnp.zeros
    S = 2 * depth * n
    return State(
        X=tuple(z((n, S)) for _ in range(depth)) if depth <= UNROLL_DEPTH else z((depth, n, S)),
        G=tuple(z((n, S)) for _ in range(depth)) if depth <= UNROLL_DEPTH else z((depth, n, S)),
        # the readout's "g^{L+1}": w^L(0) is one N(0, 1) number at all times (Eq. 4.8)
        Cov=z((2 * depth + 2, n, n)).at[2 * depth + 1].set(1.0),
        V=z((K, n, 1 + 2 * n)),
        U=z((K, n, 1 + 2 * n)),
        Ca=z((n, n)),
        Cu=z((n, n)),
        Dl=z((n, n + 1)),
        CD=z((n, n)),
    )


def _sources(Cov):
    """The 2L source covariances (Eq. 11.5) out of ``Cov``: xi~^l has C_chi^{l-1} (C_u for l = 1), zeta~^l
    has C_g^{l+1} (all ones for l = L)."""
    L = (Cov.shape[0] - 2) // 2
    return jnp.concatenate([Cov[:L], Cov[L + 2 :]])


def _weights(row, Cov):
    """row @ blockdiag(source covariances): a field's coefficients times the source covariance (Eq. 5.2).

    Source block b < L (xi~^{b+1}) has covariance Cov[b] and block b >= L (zeta~^{b-L+1}) Cov[b + 2]: two
    zero blocks inserted at L align the row with ``Cov`` without copying it."""
    nb, n, _ = Cov.shape
    L = (nb - 2) // 2
    padded = jnp.concatenate([row[: L * n], jnp.zeros(2 * n), row[L * n :]]).reshape(nb, n)
    w = jnp.einsum("bs,bsk->bk", padded, Cov)
    return jnp.concatenate([w[:L], w[L + 2 :]]).reshape(-1)


def _block(row, b, n: int):
    """The coefficients of a row on source block b (a response, Eq. 5.2); b may be traced."""
    return lax.dynamic_slice(row, (b * n,), (n,))


def _rowcol(Cov, b, t, c):
    """Write the new row/column t of the symmetric covariance block b (in place: no bounds-checked scatter)."""
    Cov = lax.dynamic_update_slice(Cov, c[None, None, :], (b, t, 0))
    return lax.dynamic_update_slice(Cov, c[None, :, None], (b, 0, t))


def _stack(F):
    """The (L, n, S) layer stack of a state's X or G."""
    return jnp.stack(F) if isinstance(F, tuple) else F


def _over_layers(body, carry, other, own, t, reverse: bool = False):
    """One pass over the layers: ``body(carry, (other_i, own_i, i)) -> (carry, row t of own_i)``, where
    ``own`` is the field the pass computes (G backward, X forward) and ``other`` the one it reads. Per-layer
    tuples are unrolled at trace time; stacks go through ``lax.scan`` (compiled once for every L), whose
    new rows are written into the stack after the pass. Returns the carry and ``own`` with row t set."""
    if isinstance(own, tuple):
        new = list(own)
        for i in reversed(range(len(own))) if reverse else range(len(own)):
            carry, row = body(carry, (other[i], own[i], i))
            new[i] = own[i].at[t].set(row)  # the body's own update of row t (merged by XLA's CSE)
        return carry, tuple(new)
    carry, rows = lax.scan(body, carry, (other, own, jnp.arange(own.shape[0])), reverse=reverse)
    return carry, lax.dynamic_update_slice(own, rows[:, None, :], (0, t, 0))


def _step(t, st: State, p: Params, a, ty: Types, depth: int, n: int, online: bool) -> State:
    """One causal time step of the residual net: Eqs. (11.1)-(11.4) at time t, in the order of Sec. 11.4.

    Each pass runs one function per layer through ``_over_layers``: unrolled over per-layer arrays up to
    ``UNROLL_DEPTH``, a ``lax.scan`` over layer stacks beyond (the compiled program then does not grow
    with L)."""
    L, S = depth, 2 * depth * n
    lt, le, _ = masks(t, n)
    eg = p.eta * p.gamma

    def unit(b):
        # the time-t source of block b
        return jnp.zeros(S).at[b * n + t].set(1.0)

    def backward(carry, xs):
        above, Cov = carry  # g^{i+2}(t)'s row (zero above the readout), the covariances so far
        Xi, Gi, i = xs
        # the readout, Eq. (11.1), is (11.2) with branch factor 1, no g above it (R = 0) and C = ones
        c = jnp.where(i == L - 1, 1.0, a)
        c2 = c * c
        # (11.2) g^{i+1}(t) = g^{i+2}(t) + c zeta~^{i+1}(t)
        #                     + sum_{s<t} [c R_g^{i+2} + eta gamma c^2 C_g^{i+2}](t,s) chi^{i+1}(s)
        k = (c * _block(above, i + 1, n) + eg * c2 * Cov[L + i + 2, t]) * lt
        grow = above + c * unit(L + i) + k @ Xi
        # C_{g^{i+1}}(t, .): grow has xi~ coefficients only at s < t and zeta~^m(t) only for m > i,
        # whose covariances C_g^{m+1}(t, t) were set above in this backward pass
        cg = Gi.at[t].set(grow) @ _weights(grow, Cov)
        return (grow, _rowcol(Cov, L + i + 1, t, cg)), grow

    (_, Cov), G = _over_layers(backward, (jnp.zeros(S), st.Cov), st.X, st.G, t, reverse=True)

    # ---- D-space and P-space, Eqs. (4.1)-(4.5) / (10.1)-(10.2), as for the plain net
    V, U, Ca, Cu, Dl, CD, urow = data_step(
        t, st.V, st.U, st.Ca, st.Cu, st.Dl, st.CD, G[0][t, :n], Cov[L + 1], p, ty, n, online
    )
    Cov = _rowcol(Cov, 0, t, Cu[t])
    R1 = first_layer_response(urow, p, ty, n)

    def forward(carry, xs):
        below, Cov = carry  # chi^i(t)'s row (zero below the first layer)
        Gi, Xi, i = xs
        # the first layer, Eq. (11.3), is (11.4) with branch factor 1, no chi below it and the W^0
        # response R_below^1 = k1 <du/dzhat> in place of c R_chi
        c = jnp.where(i == 0, 1.0, a)
        c2 = c * c
        # (11.4) chi^{i+1}(t) = chi^i(t) + c xi~^{i+1}(t)
        #        + sum_{s<=t} [c R_chi^i + eta gamma c^2 C_chi^i 1_{s<t}](t,s) g^{i+1}(s)
        resp = c * _block(below, L + i - 1, n) + jnp.where(i == 0, R1, 0.0)
        k = resp * le + eg * c2 * Cov[i, t] * lt
        xrow = below + c * unit(i) + k @ Gi
        # xrow has xi~^m(t) only for m <= i + 1 (covariances C_u, C_chi^{m-1}(t, t) known) and
        # zeta~^m(t) for any m (backward pass done)
        cchi = Xi.at[t].set(xrow) @ _weights(xrow, Cov)
        return (xrow, _rowcol(Cov, i + 1, t, cchi)), xrow

    (_, Cov), X = _over_layers(forward, (jnp.zeros(S), Cov), G, st.X, t)
    return State(X, G, Cov, V, U, Ca, Cu, Dl, CD)


def _plain_view(st: State, depth: int, n: int) -> PlainState:
    """The state in ``_core.State``'s layout (per layer: own-layer sources [xi~^l, zeta~^l] only), so the
    order-parameter output of plain nets (docs/theory.md, Table 2) applies unchanged."""
    L = depth
    own = jnp.arange(L)

    def own_blocks(F):  # layer l's coefficients on xi~^l and zeta~^l: (L, n, 2n)
        F4 = F.reshape(L, n, 2 * L, n)
        return jnp.concatenate([F4[own, :, own], F4[own, :, L + own]], axis=-1)

    Cchi, Cg = st.Cov[1 : L + 1], st.Cov[L + 1 : 2 * L + 1]
    return PlainState(own_blocks(_stack(st.X)), own_blocks(_stack(st.G)), Cchi, Cg, st.V, st.U, st.Ca, st.Cu, st.Dl, st.CD)


def _cross(st: State, depth: int, n: int) -> Cross:
    """Cross-layer order parameters (Sec. 11.3); O(L^3 T^3): computed only on request."""
    L = depth
    Xs = _stack(st.X).reshape(L, n, 2 * L, n)  # (layer, t, block, s)
    Gs = _stack(st.G).reshape(L, n, 2 * L, n)
    cov = _sources(st.Cov)

    def corr(F):
        Fw = jnp.einsum("ltbs,bsk->ltbk", F, cov)
        return jnp.einsum("ltbk,msbk->lmts", Fw, F)

    return Cross(
        C_g=corr(Gs),
        C_chi=corr(Xs),
        R_g_xi=jnp.transpose(Gs[:, :, :L], (0, 2, 1, 3)),
        R_chi_zeta=jnp.transpose(Xs[:, :, L:], (0, 2, 1, 3)),
    )


def _solve(p: Params, a, ty: Types, depth: int, n: int, order_parameters: bool, online: bool):
    st = lax.fori_loop(0, n, lambda t, s: _step(t, s, p, a, ty, depth, n, online), _init(depth, n, ty.lam.shape[0]))
    train = jnp.diagonal(st.CD)  # Eq. (4.11)
    test = jnp.diagonal(st.Ca) + p.sigma**2
    if order_parameters:
        return train, test, _plain_view(st, depth, n), _cross(st, depth, n)
    return train, test


@lru_cache(maxsize=None)
def _compiled(depth: int, n: int, order_parameters: bool, batched: bool, online: bool):
    def f(p, a, ty):
        return _solve(p, a, ty, depth, n, order_parameters, online)

    if batched:
        one = f

        def f(p, a, ty):
            # chunks of VMAP_CHUNK configs, as in _core.run_batch (cache-friendly on CPU)
            return lax.map(lambda q: one(q[0], q[1], ty), (p, a), batch_size=VMAP_CHUNK)

    return jax.jit(f)


def run(p: Params, a, ty: Types, depth: int, n: int, order_parameters: bool = False, online: bool = False):
    """Solve one residual configuration with branch scale ``a`` = beta_res / sqrt(L) (traced); jit-compiled
    per (depth, n, online). Returns (train, test[, plain-layout State, Cross])."""
    return _compiled(depth, n, order_parameters, False, online)(p, a, ty)


def run_batch(p: Params, a, ty: Types, depth: int, n: int, order_parameters: bool = False, online: bool = False):
    """Solve a batch of residual configurations in one call: every field of ``p`` and ``a`` has a leading axis."""
    return _compiled(depth, n, order_parameters, True, online)(p, a, ty)


# ---- the infinite-depth limit, docs/theory.md Sec. 11.7 ------------------------------------------------


def depth_grids(depth_steps: int) -> tuple[int, int, int]:
    """The layer-time grids of an infinite-depth solve: M/4, M/2 and M steps (M a multiple of 4)."""
    return depth_steps // 4, depth_steps // 2, depth_steps


def step_scale(beta, steps: int):
    """The branch scale of one step dtau = 1/M of layer time, a^2 = e^{beta^2 / M} - 1 (Eq. 11.12): the
    grid then reproduces the free growth e^{beta^2 tau} of Eq. (11.7) exactly (a^2 = beta^2/M, the plain
    Euler step, is the same scheme to O(1/M^2) per step but compounds to an O(beta^4/M) error)."""
    return np.sqrt(np.expm1(np.square(beta) / steps))


def richardson(coarse, fine):
    """2 f(M) - f(M/2): the extrapolation that removes the O(1/M) error of the grid (Eq. 11.13)."""
    return 2.0 * fine - coarse


def run_infinite(p: Params, beta, ty: Types, n: int, depth_steps: int, online: bool = False, batched: bool = False):
    """(train, test) on each grid of ``depth_grids``, the discretisations of the continuum equations (11.9)-(11.11)
    whose O(1/M) error ``richardson`` removes: a grid of M
    steps is the residual net of L = M + 1 layers with branch scale ``step_scale(beta, M)`` (Sec. 11.7).
    ``batched``: every field of ``p`` and ``beta`` has a leading axis, as in ``run_batch``."""
    solve = run_batch if batched else run
    return [solve(p, step_scale(beta, M), ty, M + 1, n, False, online) for M in depth_grids(depth_steps)]
