"""Finite-size training of the canonical model: many seeds at once, float64, rank-one steps.

``simulate(config, dim, seeds)`` trains ``seeds`` independent networks (new teacher, data and
initial weights per seed) for T = ``config.steps`` steps and records, with the weights after t
updates (t = 0..T):

    train(t) = (1/P) sum_mu (f(x_mu) - y_mu)^2   (online SGD: on the batch of step t, eq. O1)
    test(t)  = v^T Sigma v / D + sigma^2,  v = beta_star - beta(t)   (exact, no test set)

A seed diverges at the first step whose loss is non-finite or above ``divergence_factor`` times
its initial loss; it is then frozen, its later losses are NaN and the step is reported.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from ..config import Config, ConfigError, resolve, sizes  # noqa: E402
from ..data import fixed_teacher, sample_teacher, spectrum, training_set  # noqa: E402
from ..results import make_simulation_dataset  # noqa: E402
from .network import Arch, arch_of, backward, fold, gd_update, init_params, low_rank, predictor  # noqa: E402

__all__ = ["simulate", "initial_state", "seed_keys", "DIVERGENCE_FACTOR"]

DIVERGENCE_FACTOR = 1e4
MEMORY_BUDGET = 2e9  # bytes of per-seed arrays held at once; seeds beyond it run in chunks
MEMORY_LIMIT = 12e9  # one seed larger than this is refused with a clear error, not an OOM
GRAM_RATIO = 4  # alpha at and above which a run keeps the D x D Gram matrix (eq. G1-G2), not the P x D data
MAX_RANK = 32  # updates kept as rank-one factors before they are folded into the weights (network.py, eq. R3)


def seed_keys(seeds: int, first_seed: int = 0) -> jax.Array:
    """One key per seed: seed i always draws the same teacher, data and weights."""
    return jnp.stack([jax.random.PRNGKey(first_seed + i) for i in range(seeds)])


class _Static(NamedTuple):
    """Shapes and switches of a run (jit static argument: a new value compiles anew)."""

    dim: int
    width: int
    depth: int
    samples: int  # P (full batch) or B (online)
    online: bool
    gram: bool  # full batch with P >= GRAM_RATIO * D: keep X^T X / P (D x D) instead of X (P x D), eq. G1-G2
    rank: int  # K: steps per block of unapplied rank-one updates (eq. R3)
    fixed_teacher: bool  # teacher amplitudes +-sqrt(b_k) instead of N(0, b_k) (config.Teacher)


class _Hyper(NamedTuple):
    """Scalars of a run, traced (a sweep over them reuses one compiled program)."""

    arch: Arch
    eta: jax.Array
    noise: jax.Array
    threshold_factor: jax.Array


def _init(key, eig, target_var, st: _Static, hp: _Hyper):
    k_teacher, k_data, k_init = jax.random.split(key, 3)
    beta_star = sample_teacher(k_teacher, target_var, st.fixed_teacher)
    params = init_params(k_init, st.dim, st.width, st.depth)
    if st.online:  # the key of step t's batch is fold_in(k_data, t)
        x = jnp.zeros((0, st.dim))
        y = jnp.zeros((0,))
    elif st.gram:  # (X^T X / P, [X^T y / P, y.y / P]): all a full-batch step needs (eq. G1)
        x, y = sampled_gram(k_data, st.samples, eig, beta_star, hp.noise)
    else:
        x, y = training_set(k_data, st.samples, eig, beta_star, hp.noise)
    return params, beta_star, x, y, k_data


def gram_data(x: jax.Array, y: jax.Array):
    """(X^T X / P, [X^T y / P, y.y / P]) of a training set (eq. G1)."""
    return (x.T @ x) / x.shape[0], jnp.append(y @ x, y @ y) / x.shape[0]


def sampled_gram(key, samples: int, eig, beta_star, noise):
    """``gram_data`` of a fresh training set of P = ``samples`` >= D + 1 points, drawn exactly in law in
    O(D^3) instead of O(P D^2) (eq. G2).

    With Z = [Z_x, eps] (P x (D+1), i.i.d. N(0, 1)), X = Z_x Sigma^(1/2) and y = X beta_star / sqrt(D)
    + sigma eps, everything the Gram form needs is a function of G = Z^T Z ~ Wishart(P, I_{D+1}),
    sampled by Bartlett's decomposition G = A A^T: A lower triangular, A_ij ~ N(0, 1) below the
    diagonal and A_ii^2 ~ chi^2(P - i) (i = 0..D).
    """
    dim = eig.shape[0]
    k_off, k_diag = jax.random.split(key)
    dof = samples - jnp.arange(dim + 1)
    diag = jnp.sqrt(2.0 * jax.random.gamma(k_diag, dof / 2.0))  # chi^2(k) = 2 Gamma(k/2)
    A = jnp.tril(jax.random.normal(k_off, (dim + 1, dim + 1)), -1) + jnp.diag(diag)
    G = A @ A.T
    root = jnp.sqrt(eig)
    xx = root[:, None] * G[:dim, :dim] * root[None, :]  # X^T X
    x_eps = root * G[:dim, dim]  # X^T eps
    xy = xx @ beta_star / jnp.sqrt(dim) + noise * x_eps
    yy = beta_star @ xx @ beta_star / dim + 2 * noise * beta_star @ x_eps / jnp.sqrt(dim) + noise**2 * G[dim, dim]
    return xx / samples, jnp.append(xy, yy) / samples


def _losses_and_direction(params, deltas, beta_star, x, y, batch_key, eig, st: _Static, hp: _Hyper):
    """Train loss, test loss and e = (1/P) sum_mu (f_mu - y_mu) x_mu (network.py, eq. R1).

    With the Gram form (eq. G1), K = X^T X / P, c = X^T y / P, q = y.y / P:
        e = K beta / sqrt(D) - c,   train = q - 2 c.beta / sqrt(D) + beta.K beta / D,
    which reads D^2 numbers per step instead of 2 P D (exact; the expansion loses only
    ~1e-16 * q / train of relative precision in the train loss). Online SGD draws its fresh batch
    through ``_fresh_batch`` (eq. O1).
    """
    beta = predictor(params, hp.arch, deltas)
    v = beta_star - beta
    test = jnp.sum(eig * v * v) / st.dim + hp.noise**2
    if st.online:
        train, e = _fresh_batch(batch_key, v, eig, st, hp)
        return train, test, e
    if st.gram:
        k_beta = x @ beta / jnp.sqrt(st.dim)
        c, q = y[:-1], y[-1]
        train = q - 2 * c @ beta / jnp.sqrt(st.dim) + beta @ k_beta / jnp.sqrt(st.dim)
        return train, test, k_beta - c
    resid = y - x @ beta / jnp.sqrt(st.dim)  # Delta = y - f
    train = jnp.mean(resid**2)
    e = -(resid @ x) / x.shape[0]  # -X^T Delta / P, as a row product (fast on XLA:CPU)
    return train, test, e


def _fresh_batch(key, v, eig, st: _Static, hp: _Hyper):
    """(train, e) of a fresh batch x_mu = Sigma^(1/2) z_mu, drawn exactly in law in O(B + D) (eq. O1).

    The residuals Delta_mu = y_mu - f_mu = |Sigma^(1/2) v| zeta_mu / sqrt(D) + sigma eps_mu depend on
    z_mu only through zeta_mu = q . z_mu, q = Sigma^(1/2) v / |Sigma^(1/2) v|, and the rest of z_mu
    is independent of zeta_mu; so given Delta,
        Z^T Delta = q (zeta . Delta) + |Delta| (I - q q^T) xi,   xi ~ N(0, I_D),
    has the law of the explicit batch sum, and e = -Sigma^(1/2) Z^T Delta / B. The same process as
    drawing the B x D batch, at the cost of B + D normals instead of B D (checked against an explicit
    batch in tests/test_simulation.py).
    """
    k_zeta, k_eps, k_xi = jax.random.split(key, 3)
    sv = jnp.sqrt(eig) * v
    norm = jnp.sqrt(sv @ sv)
    q = sv / jnp.where(norm > 0, norm, 1.0)
    zeta = jax.random.normal(k_zeta, (st.samples,))
    resid = norm * zeta / jnp.sqrt(st.dim) + hp.noise * jax.random.normal(k_eps, (st.samples,))
    xi = jax.random.normal(k_xi, (st.dim,))
    zt_resid = q * (zeta @ resid) + jnp.sqrt(resid @ resid) * (xi - q * (q @ xi))
    return jnp.mean(resid**2), -jnp.sqrt(eig) * zt_resid / st.samples


def _run_steps(carry, steps, eig, st: _Static, hp: _Hyper):
    """lax.scan over training steps for one seed; carry = (params, beta_star, x, y, key, div, thr).

    ``steps`` is a whole number of blocks of K = ``st.rank`` steps; the updates of a block are kept
    as factors and folded into the weights at its end (network.py, eq. R3).
    """

    def step(carry, t_slot):
        t, slot = t_slot
        params, beta_star, x, y, key, div_step, thr = carry
        deltas = backward(params, hp.arch)  # shared by the predictor and the gradient
        # online SGD: step t's fresh batch is drawn from fold_in(key, t)
        train, test, e = _losses_and_direction(params, deltas, beta_star, x, y, jax.random.fold_in(key, t), eig, st, hp)
        thr = jnp.where(t == 0, hp.threshold_factor * jnp.maximum(train, test), thr)
        bad = ~jnp.isfinite(train) | ~jnp.isfinite(test) | (train > thr) | (test > thr)
        div_step = jnp.where((div_step < 0) & bad, t, div_step)
        alive = div_step < 0
        params = gd_update(params, e, hp.arch, hp.eta * alive, slot, deltas)  # a diverged seed stops moving
        record = jnp.where(alive, jnp.stack([train, test]), jnp.nan)
        return (params, beta_star, x, y, key, div_step, thr), record

    def block(carry, ts):
        carry, rec = jax.lax.scan(step, carry, (ts, jnp.arange(st.rank)))
        return (fold(carry[0]),) + carry[1:], rec

    carry, rec = jax.lax.scan(block, carry, steps.reshape(-1, st.rank))
    return carry, rec.reshape(-1, 2)


@partial(jax.jit, static_argnames=("st",))
def _init_batch(keys, eig, target_var, hp: _Hyper, st: _Static):
    params, beta_star, x, y, k_data = jax.vmap(lambda k: _init(k, eig, target_var, st, hp))(keys)
    params = jax.vmap(lambda p: low_rank(p, st.rank))(params)
    n = keys.shape[0]
    return (params, beta_star, x, y, k_data, -jnp.ones(n, dtype=jnp.int64), jnp.full(n, jnp.inf))


@partial(jax.jit, static_argnames=("st",), donate_argnums=(0,))
def _advance_batch(carry, steps, eig, hp: _Hyper, st: _Static):
    # seeds one after another inside one compiled call: batched matrix-vector products
    # (vmap) are slower on XLA:CPU than a loop of plain ones
    return jax.lax.map(lambda c: _run_steps(c, steps, eig, st, hp), carry)


def _seed_bytes(st: _Static) -> int:
    """Peak float64 bytes of a seed: weights, the training set (P x D, or D x D in the Gram form; an
    online batch costs O(B + D), eq. O1) and the temporaries of drawing them (peak about 3x the arrays
    held)."""
    data = 0 if st.online else (st.dim + 1) ** 2 if st.gram else st.samples * st.dim
    return 3 * 8 * (st.width * st.dim + (st.depth - 1) * st.width**2 + data)


def _seed_chunk(st: _Static, seeds: int) -> int:
    return max(1, min(seeds, int(MEMORY_BUDGET // _seed_bytes(st))))


def _rank(total_steps: int) -> int:
    """K <= MAX_RANK with as few padding steps as possible in whole blocks of K."""
    return math.ceil(total_steps / math.ceil(total_steps / MAX_RANK))


def _setup(config: Config, dim: int | None, divergence_factor: float = DIVERGENCE_FACTOR):
    n = sizes(config, dim)
    st = _Static(
        dim=n["D"],
        width=n["N"],
        depth=config.depth,
        samples=n["B"] if config.online else n["P"],
        online=config.online,
        gram=(not config.online) and n["P"] >= GRAM_RATIO * n["D"],
        rank=_rank(config.steps + 1),
        fixed_teacher=fixed_teacher(config),
    )
    f64 = partial(jnp.asarray, dtype=jnp.float64)
    hp = _Hyper(
        arch=Arch(*map(f64, arch_of(config))),
        eta=f64(config.eta),
        noise=f64(config.noise),
        threshold_factor=f64(divergence_factor),
    )
    eig, target_var = spectrum(config, st.dim)
    return st, hp, jnp.asarray(eig), jnp.asarray(target_var)


def initial_state(config: Config, dim: int, seed: int = 0):
    """(params, beta_star, X, y, eig) exactly as ``simulate`` draws them for ``seed`` (full batch)."""
    st, hp, eig, target_var = _setup(config, dim)
    params, beta_star, x, y, _ = _init(jax.random.PRNGKey(seed), eig, target_var, st._replace(gram=False), hp)
    return params, beta_star, x, y, eig


def simulate(
    config: Config,
    dim: int | None = None,
    seeds: int | None = None,
    *,
    first_seed: int = 0,
    divergence_factor: float = DIVERGENCE_FACTOR,
    progress: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """Train ``seeds`` networks of input dimension ``dim`` (defaults: config.dim, config.seeds).

    Returns the Dataset of ``deeplinear.results`` (per-seed curves, mean and standard error over
    seeds that did not diverge, divergence steps). ``progress(done, total)`` is called in
    seed-steps as blocks of steps complete (the CLI draws a progress bar with it).
    """
    seeds = seeds if seeds is not None else config.seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds: must be an integer >= 1 (got {seeds!r}); allowed: an integer >= 1")
    st, hp, eig, target_var = _setup(config, dim, divergence_factor)
    dim = st.dim
    need = _seed_bytes(st)
    if need > MEMORY_LIMIT:
        raise ConfigError(
            f"dim: D={dim} (N={st.width}, {'B' if st.online else 'P'}={st.samples}, depth {st.depth}) needs "
            f"{need / 1e9:.1f} GB per seed, over the {MEMORY_LIMIT / 1e9:.0f} GB limit; allowed: a smaller D"
        )
    total_steps = config.steps + 1  # losses at t = 0..T; the update after step T is discarded
    chunk = _seed_chunk(st, seeds)
    n_chunks = math.ceil(seeds / chunk)
    # Step blocks (whole blocks of K updates) only to report progress; each is the same compiled scan.
    block = total_steps if progress is None else max(1, math.ceil(total_steps / 20))
    block = st.rank * math.ceil(block / st.rank)
    n_blocks = math.ceil(total_steps / block)
    keys = seed_keys(n_chunks * chunk, first_seed)  # padded to whole chunks; extras are dropped
    records, divs = [], []
    done = 0
    for c in range(n_chunks):
        carry = _init_batch(keys[c * chunk : (c + 1) * chunk], eig, target_var, hp, st)
        parts = []
        for b in range(n_blocks):
            steps = jnp.arange(b * block, (b + 1) * block)
            carry, rec = _advance_batch(carry, steps, eig, hp, st)
            parts.append(np.asarray(rec))
            done += min(block, total_steps - b * block) * chunk
            if progress is not None:  # in seed-steps
                progress(min(done, seeds * total_steps), seeds * total_steps)
        records.append(np.concatenate(parts, axis=1)[:, :total_steps])
        divs.append(np.asarray(carry[5]))
    rec = np.concatenate(records)[:seeds]
    div = np.concatenate(divs)[:seeds]
    div = np.where(div >= total_steps, -1, div)  # a blow-up in the discarded padding steps
    return make_simulation_dataset(rec[..., 0], rec[..., 1], div, resolve(config, dim) | {"seeds": seeds})
