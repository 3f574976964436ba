"""The causal DMFT solver for plain (non-residual) deep linear nets, full-batch GD (docs/theory.md).

Everything here is a pure function of arrays; no config objects, no dimension D. Every field of every
single-site process is a linear combination of Gaussian sources, so a field is stored as the row of
its coefficients (Sec. 5 of docs/theory.md). Step ``t`` appends one row to every coefficient matrix and
one row/column to every order parameter, in the causal order of Eq. (4.1)-(4.9):

    backward pass (g^L -> g^1)  ->  D-space v  ->  P-space Delta  ->  D-space u  ->  forward pass
    (chi^1 -> chi^L).

Layouts (n = T + 1 time points, L layers, K input-space types):

* N-space, layer l (one site per layer; plain nets decouple the layers, Sec. 2):
  sources ``[xi~^l(0..n-1), zeta~^l(0..n-1)]`` (2n columns); the readout layer's "zeta~^L" is the
  constant w^L(0), modelled as a GP with all-ones covariance (Eq. 4.8).
  ``X[l]`` = coefficients of chi^l, ``G[l]`` = coefficients of g^l, each (n, 2n); per-layer arrays are
  kept in tuples (L is static) so that a step updates rows in place instead of copying slices.
* D-space, per type k: sources ``[z*, zhat(0..n-1), khat(0..n-1)]`` (1 + 2n columns);
  ``V[k]``, ``U[k]`` coefficients of v and u, shape (K, n, 1 + 2n).
* P-space: sources ``[r~(0..n-1), eps]`` (n + 1 columns); ``Dl`` coefficients of Delta.

Responses are read off as coefficients (a kick enters where its source does, Eq. 5.2).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax

jax.config.update("jax_enable_x64", True)  # float64 before any array is made

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

__all__ = ["Params", "Types", "State", "run", "run_batch", "VMAP_CHUNK"]

VMAP_CHUNK = 2  # configs vmapped together inside run_batch


class Params(NamedTuple):
    """The traced scalars (docs/theory.md, Table 1). ``c0`` = 1/(gamma0 sqrt(nu)), ``k1`` = 1/(gamma0 nu)."""

    eta: jnp.ndarray
    gamma: jnp.ndarray
    inv_alpha: jnp.ndarray
    sigma: jnp.ndarray
    c0: jnp.ndarray
    k1: jnp.ndarray


class Types(NamedTuple):
    """Input-space mixture (Eq. 4.10): eigenvalue lam_k, target variance b_k, weight w_k (sum 1)."""

    lam: jnp.ndarray
    b: jnp.ndarray
    w: jnp.ndarray


class State(NamedTuple):
    X: tuple  # L x (n, 2n) chi^l
    G: tuple  # L x (n, 2n) g^l
    Cchi: tuple  # L x (n, n)
    Cg: tuple  # L x (n, n)
    V: jnp.ndarray  # (K, n, 1+2n) v
    U: jnp.ndarray  # (K, n, 1+2n) u
    Ca: jnp.ndarray  # (n, n)  <lam v v>_D
    Cu: jnp.ndarray  # (n, n)  <u u>_D
    Dl: jnp.ndarray  # (n, n+1) Delta
    CD: jnp.ndarray  # (n, n)  <Delta Delta>_P


def _set_rowcol(C, t, c):
    """Write the new row/column t of a symmetric order parameter."""
    return C.at[t].set(c).at[:, t].set(c)


def _init(depth: int, n: int, K: int) -> State:
    z = jnp.zeros
    return State(
        X=tuple(z((n, 2 * n)) for _ in range(depth)),
        G=tuple(z((n, 2 * n)) for _ in range(depth)),
        Cchi=tuple(z((n, n)) for _ in range(depth)),
        Cg=tuple(z((n, n)) for _ in range(depth)),
        V=z((K, n, 1 + 2 * n)),
        U=z((K, n, 1 + 2 * n)),
        Ca=z((n, n)),
        Cu=z((n, n)),
        Dl=z((n, n + 1)),
        CD=z((n, n)),
    )


def masks(t, n: int):
    """(s < t, s <= t, s == t) over s = 0..n-1: strictly causal memory, responses with the equal-time
    term, and the position of the time-t source (docs/theory.md, Sec. 4.6)."""
    idx = jnp.arange(n)
    return tuple((cmp(idx, t)).astype(jnp.float64) for cmp in (jnp.less, jnp.less_equal, jnp.equal))


def data_step(t, V, U, Ca, Cu, Dl, CD, Rg1, Cg1, p: Params, ty: Types, n: int, online: bool):
    """The D-space and P-space at time t, Eqs. (4.1)-(4.5), (10.1)-(10.2): v(t), Delta(t), u(t).

    They see the N-space only through the first layer: ``Rg1`` = R^1_{g xi}(t, .) (the coefficients of
    g^1(t) on xi~^1) and ``Cg1`` = C_{g^1} (row t already known), so plain and residual nets share this
    part unchanged. Returns ``(V, U, Ca, Cu, Dl, CD, urow)``; ``urow`` are u(t)'s coefficients.
    """
    lt, le, et = masks(t, n)
    zn = jnp.zeros(n)
    # ---- D-space, Eq. (4.1)-(4.2): v(t) = sqrt(b) z* - zhat(t) - sum_{s<t} [R^1_{g xi}/gamma + eta C_{g^1}] u(s)
    Kb = (Rg1 / p.gamma + p.eta * Cg1[t]) * lt
    e_z = jnp.zeros(1 + 2 * n).at[0].set(1.0)
    e_zh = jnp.concatenate([jnp.zeros(1), et, zn])
    e_kh = jnp.concatenate([jnp.zeros(1), zn, et])
    vrow = jnp.sqrt(ty.b)[:, None] * e_z - e_zh - jnp.einsum("s,ksj->kj", Kb, U)
    V = V.at[:, t].set(vrow)

    def kappa_cov(rows, CD_now):
        # full batch: the kappa-hat source has covariance C_Delta; online: white, diag(C_Delta), Eq. (10.2)
        return rows * jnp.diagonal(CD_now) if online else rows @ CD_now

    def d_weights(rows, CD_now):
        # rows @ blockdiag(1, c0^2 C_{g^1}, C_Delta / alpha): the D-space source covariance (Eq. 4.3)
        return jnp.concatenate(
            [rows[:, :1], p.c0**2 * rows[:, 1 : 1 + n] @ Cg1, p.inv_alpha * kappa_cov(rows[:, 1 + n :], CD_now)],
            axis=1,
        )

    ca = jnp.einsum("k,knj,kj->n", ty.w * ty.lam, V, d_weights(vrow, CD))
    Ca = _set_rowcol(Ca, t, ca)

    if online:
        # ---- fresh batch, Eq. (10.1): Delta(t) = r~(t) + sigma eps with no memory; batch loss C_a(t,t) + sigma^2
        drow = jnp.concatenate([et, p.sigma[None]])
        Dl = Dl.at[t].set(drow)
        CD = CD.at[t, t].set(ca[t] + p.sigma**2)
    else:
        # ---- P-space, Eq. (4.4): Delta(t) = r~(t) + sigma eps + (1/alpha) sum_{s<t} <sqrt(lam) dv(t)/dkhat(s)> Delta(s)
        Kr = p.inv_alpha * jnp.einsum("k,kj->j", ty.w * jnp.sqrt(ty.lam), vrow[:, 1 + n :]) * lt
        drow = jnp.concatenate([et, p.sigma[None]]) + Kr @ Dl
        Dl = Dl.at[t].set(drow)
        wd = jnp.concatenate([drow[:n] @ Ca, drow[n:]])
        CD = _set_rowcol(CD, t, Dl @ wd)

    # ---- D-space, Eq. (4.5): u(t) = sqrt(lam) khat(t) + lam sum_{s<=t} R_{Delta r}(t,s) v(s)
    R_Dr = drow[:n] * le
    urow = jnp.sqrt(ty.lam)[:, None] * e_kh + ty.lam[:, None] * jnp.einsum("s,ksj->kj", R_Dr, V)
    U = U.at[:, t].set(urow)
    cu = jnp.einsum("k,knj,kj->n", ty.w, U, d_weights(urow, CD))
    Cu = _set_rowcol(Cu, t, cu)
    return V, U, Ca, Cu, Dl, CD, urow


def first_layer_response(urow, p: Params, ty: Types, n: int):
    """R_below^1(t, .) = R_{u zeta^0} / sqrt(nu) = k1 <du(t)/dzhat>_D (Sec. 4.4): the 1/(gamma0 sqrt nu)
    of zhat is folded into k1."""
    return p.k1 * jnp.einsum("k,kj->j", ty.w, urow[:, 1 : 1 + n])


def _step(t, st: State, p: Params, ty: Types, depth: int, n: int, online: bool = False) -> State:
    """One causal time step: Eqs. (4.1)-(4.9) evaluated at time t (docs/theory.md, Sec. 5).

    ``online`` (a fresh batch every step, Sec. 10): the sample space has no memory, Eq. (10.1), and
    the kappa-hat source is white with variance (C_a(t,t) + sigma^2) / b, Eq. (10.2); then
    ``p.inv_alpha`` holds 1/b.
    """
    X, G, Cchi, Cg = (list(a) for a in st[:4])
    lt, le, et = masks(t, n)
    zn = jnp.zeros(n)
    eg = p.eta * p.gamma
    ones = jnp.ones((n, n))

    def above(l):
        # (R^{l+1}_{g xi}, C_{g^{l+1}}); the readout is a constant with unit variance (Eq. 4.8)
        if l == depth - 1:
            return zn, ones
        return G[l + 1][t, :n], Cg[l + 1]

    # ---- backward pass, Eq. (4.6): g^l(t) = zeta~^l(t) + sum_{s<t} [R^{l+1}_{g xi} + eta gamma C_{g^{l+1}}] chi^l(s)
    for l in reversed(range(depth)):
        R_ab, C_ab = above(l)
        C_be = st.Cu if l == 0 else Cchi[l - 1]
        k = (R_ab + eg * C_ab[t]) * lt
        grow = jnp.concatenate([zn, et]) + k @ X[l]
        G[l] = G[l].at[t].set(grow)
        # C_{g^l}(t, .) needs C_be only at times < t, which are known (grow[:n] is strictly causal)
        wv = jnp.concatenate([grow[:n] @ C_be, grow[n:] @ C_ab])
        Cg[l] = _set_rowcol(Cg[l], t, G[l] @ wv)

    # ---- D-space and P-space, Eqs. (4.1)-(4.5): v(t), Delta(t), u(t)
    V, U, Ca, Cu, Dl, CD, urow = data_step(t, *st[4:], G[0][t, :n], Cg[0], p, ty, n, online)

    # ---- forward pass, Eq. (4.7): chi^l(t) = xi~^l(t) + sum_{s<=t} R_be(t,s) g^l(s) + eta gamma sum_{s<t} C_be(t,s) g^l(s)
    for l in range(depth):
        if l == 0:
            R_be, C_be = first_layer_response(urow, p, ty, n), Cu
        else:
            R_be, C_be = X[l - 1][t, n:], Cchi[l - 1]
        _, C_ab = above(l)
        k = R_be * le + eg * C_be[t] * lt
        xrow = jnp.concatenate([et, zn]) + k @ G[l]
        X[l] = X[l].at[t].set(xrow)
        wv = jnp.concatenate([xrow[:n] @ C_be, xrow[n:] @ C_ab])
        Cchi[l] = _set_rowcol(Cchi[l], t, X[l] @ wv)

    return State(tuple(X), tuple(G), tuple(Cchi), tuple(Cg), V, U, Ca, Cu, Dl, CD)


def _solve(p: Params, ty: Types, depth: int, n: int, order_parameters: bool, online: bool = False):
    st = lax.fori_loop(0, n, lambda t, s: _step(t, s, p, ty, depth, n, online), _init(depth, n, ty.lam.shape[0]))
    train = jnp.diagonal(st.CD)  # Eq. (4.11)
    test = jnp.diagonal(st.Ca) + p.sigma**2
    if order_parameters:  # layer-stacked for the Dataset: (L, n, .)
        return train, test, st._replace(**{k: jnp.stack(getattr(st, k)) for k in ("X", "G", "Cchi", "Cg")})
    return train, test


@lru_cache(maxsize=None)
def _compiled(depth: int, n: int, order_parameters: bool, batched: bool, online: bool):
    def f(p, ty):
        return _solve(p, ty, depth, n, order_parameters, online)

    if batched:
        one = f

        def f(p, ty):
            # vmap in chunks of VMAP_CHUNK inside one compiled call: a full-width vmap keeps every
            # config's T x T arrays live at once and falls out of cache (slower than one by one on CPU)
            return lax.map(lambda q: one(q, ty), p, batch_size=VMAP_CHUNK)

    return jax.jit(f)


def run(p: Params, ty: Types, depth: int, n: int, order_parameters: bool = False, online: bool = False):
    """Solve one configuration (jit-compiled per (depth, n)); returns (train, test[, State])."""
    return _compiled(depth, n, order_parameters, False, online)(p, ty)


def run_batch(p: Params, ty: Types, depth: int, n: int, order_parameters: bool = False, online: bool = False):
    """Solve a batch of configurations in one vmapped call: every field of ``p`` has a leading axis."""
    return _compiled(depth, n, order_parameters, True, online)(p, ty)
