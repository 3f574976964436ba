"""Config -> DMFT scalars -> xarray.Dataset (docs/theory.md, Sec. 6 and 7)."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import xarray as xr

from ..config import Config, ConfigError, parse_config, resolve
from ..results import make_theory_dataset
from . import _core, _residual, spectra
from ._residual import DEPTH_STEPS
from .spectra import DEFAULT_BINS

__all__ = ["solve", "solve_batch", "check_supported", "DIVERGENCE_FACTOR", "LAZY_GAMMA"]

#: a loss above this multiple of the initial loss counts as diverged, then NaN afterwards (the same
#: rule as the simulator, so both engines flag the same runs)
DIVERGENCE_FACTOR = 1e4
#: gamma0 used for the exact lazy limit (NTK at nu = inf, gamma0_effective = 0); the loss is even in
#: gamma0 at fixed 1/(gamma0 sqrt nu), so this changes it by O(1e-16) relative (docs/theory.md, Sec. 6)
LAZY_GAMMA = 1e-8


def _as_config(config: Config | dict[str, Any]) -> Config:
    return config if isinstance(config, Config) else parse_config(config)


#: float64 arrays of the solver above this many bytes are refused before anything is allocated
MEMORY_LIMIT = 8e9


def solver_bytes(config: Config, types: int = 1, depth_steps: int = DEPTH_STEPS) -> float:
    """Memory of the solver state, times ~2 for the step's temporaries: plain nets per layer 2 (T x 2T)
    coefficient and 2 (T x T) order-parameter arrays, residual nets coefficients of every layer on every
    layer's sources, (4 L^2 + 2 L) T^2 (Sec. 11.5; depth .inf: the finest grid, L = depth_steps + 1), plus
    the D-space (2 x T x 2T per input-space type) and P-space arrays."""
    n = config.steps + 1
    return 2 * 8.0 * n * n * _state_floats(config, types, depth_steps)


def _solved_depth(config: Config, depth_steps: int) -> int:
    """The number of layers the solver runs: depth .inf runs grids up to M + 1 layers (Sec. 11.7)."""
    return depth_steps + 1 if math.isinf(config.depth) else config.depth


def _state_floats(config: Config, types: int, depth_steps: int = DEPTH_STEPS) -> float:
    """Float64 numbers of the solver state per (T + 1)^2; a residual net keeps every layer's coefficients
    on every layer's sources, O(L^2) (docs/theory.md, Sec. 11.5)."""
    depth = _solved_depth(config, depth_steps)
    per_net = _residual.state_floats(depth) if config.residual else 6 * depth + 8
    return per_net + 4 * (types - 1)


def check_supported(config: Config, bins: int = DEFAULT_BINS, depth_steps: int = DEPTH_STEPS) -> None:
    """Raise NotImplementedError naming the field for what this DMFT does not cover (yet), and a
    ConfigError for a horizon whose T x T arrays would not fit in memory, a power law without dim or a
    bad ``depth_steps`` (the layer-time grid of depth .inf, Sec. 11.7)."""
    if math.isinf(config.depth) and (
        isinstance(depth_steps, bool) or not isinstance(depth_steps, int) or depth_steps % 4 or not 4 <= depth_steps <= 1024
    ):
        raise ConfigError(
            f"depth_steps: the layer-time grids of depth .inf have M/4, M/2 and M steps (got M = {depth_steps!r}); "
            "allowed: a multiple of 4 from 4 to 1024"
        )
    dim = spectra.theory_dim(config)
    types = 1 if dim is None else min(bins, dim)
    need = solver_bytes(config, types, depth_steps)
    if need > MEMORY_LIMIT:
        longest = int(math.sqrt(MEMORY_LIMIT / (16.0 * _state_floats(config, types, depth_steps)))) - 1
        where = f"depth .inf (depth_steps {depth_steps})" if math.isinf(config.depth) else f"depth {config.depth}"
        raise ConfigError(
            f"steps: the theory keeps T x T arrays; T = {config.steps} at {where} needs "
            f"{need / 1e9:.0f} GB (limit {MEMORY_LIMIT / 1e9:.0f} GB); allowed: steps <= {longest} at this depth"
            + (f" and {types} input-space types" if types > 1 else "")
            + (" (residual nets: memory grows like depth^2 T^2)" if config.residual else "")
        )


def _scalars(config: Config) -> tuple[float, ...]:
    """(eta, gamma, 1/alpha, sigma, c0, k1) of Table 1, docs/theory.md.

    c0 = 1/(gamma0 sqrt nu) is the scale of the random initial predictor and k1 = c0/sqrt(nu); nu enters
    the DMFT only through these two. NTK at nu = inf is the lazy limit gamma0 -> 0 at fixed
    gamma0 sqrt(nu) = gamma (the user's value).
    """
    g0 = config.gamma0_effective
    inv_nu = 0.0 if math.isinf(config.nu) else 1.0 / config.nu
    if g0 == 0.0:  # NTK, nu = inf
        gamma, c0 = LAZY_GAMMA, 1.0 / config.gamma0
    else:
        gamma = g0
        c0 = 1.0 / (g0 * math.sqrt(config.nu)) if inv_nu else 0.0  # muP at nu = inf: no initial output
    # online SGD: the sample-space ratio is the batch b = B/D, with no memory across steps (Sec. 10)
    inv_ratio = 1.0 / config.batch if config.online else 1.0 / config.alpha
    return (config.eta, gamma, inv_ratio, config.noise, c0, c0 * math.sqrt(inv_nu))


def _divergence(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """First step with a non-finite or huge loss; NaN from there on (docs/theory.md, Sec. 7)."""
    limit = DIVERGENCE_FACTOR * max(train[0], test[0])  # NaN at t = 0 makes every step bad
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(train) & np.isfinite(test)) | ~(train <= limit) | ~(test <= limit)
    if not bad.any():
        return train, test, -1
    first = int(np.argmax(bad))
    train, test = train.copy(), test.copy()
    train[first:] = np.nan
    test[first:] = np.nan
    return train, test, first


def _mode_test_loss(st: _core.State, p: tuple[float, ...], n: int, online: bool, m: int) -> np.ndarray:
    """lambda <v(t)^2> of each input-space type at t < m, NaN after, shape (types, n): the test loss is
    sum_k w_k (.)_k + sigma^2 (Eq. 4.10, 4.11). v's coefficients on [z*, zhat, khat] against the source
    covariance (Eq. 4.3); v(t) has no coefficient on sources after t, so times >= m (a diverged run's
    overflow) never enter."""
    _, _, inv_alpha, _, c0, _ = p
    vz, vh, vk = st.V[:, :m, 0], st.V[:, :m, 1 : 1 + m], st.V[:, :m, 1 + n : 1 + n + m]
    cd = st.CD[:m, :m]
    cov_k = np.diag(np.diagonal(cd)) if online else cd  # online: white kappa-hat, Eq. (10.2)
    out = np.full((vz.shape[0], n), np.nan)
    out[:, :m] = (
        vz**2
        + c0**2 * np.einsum("kti,ij,ktj->kt", vh, st.Cg[0][:m, :m], vh)
        + inv_alpha * np.einsum("kti,ij,ktj->kt", vk, cov_k, vk)
    )
    return out


def _order_parameter_vars(
    st: _core.State, p: tuple[float, ...], n: int, first_bad: int, types: _core.Types, online: bool, cross=None
) -> dict:
    """C and R functions (docs/theory.md, Table 2) and the per-type test loss as Dataset variables;
    ``cross`` (residual nets): the cross-layer functions of Sec. 11.3, dims (layer, layer2, step, step2)."""
    _, _, inv_alpha, _, c0, _ = p
    st = _core.State(*(np.array(a) for a in st))  # writable copies (NaN-masked below)
    tt, ll = ("step", "step2"), ("layer", "step", "step2")
    w = np.asarray(types.w)  # the input-space types of Eq. (4.10)
    out = {
        "C_u": (tt, st.Cu),
        "C_a": (tt, st.Ca),
        "C_Delta": (tt, st.CD),
        "C_g": (ll, st.Cg),
        "C_chi": (ll, st.Cchi),
        # responses in the normalisation of the matrix lemma, Eq. (3.2)
        "R_g_xi": (ll, st.G[:, :, :n]),
        "R_chi_zeta": (ll, st.X[:, :, n:]),
        "R_u_zeta": (tt, c0 * np.einsum("k,knj->nj", w, st.U[:, :, 1 : 1 + n])),
        "R_a_kappa": (tt, math.sqrt(inv_alpha) * np.einsum("k,knj->nj", w, st.V[:, :, 1 + n :])),
        "R_Delta_r": (tt, st.Dl[:, :n]),
    }
    if cross is not None:
        out.update({f"{k}_cross": (("layer", "layer2") + tt, np.array(v)) for k, v in cross._asdict().items()})
    mode = np.asarray(types.lam)[:, None] * _mode_test_loss(st, p, n, online, first_bad if first_bad >= 0 else n)
    if first_bad >= 0:
        for dims, arr in out.values():
            arr[..., first_bad:, :] = np.nan
            arr[..., :, first_bad:] = np.nan
    out["test_loss_mode"] = (("mode", "step"), mode)
    return out


def _dataset(config: Config, train, test, st, p, order_parameters: bool, types: _core.Types, cross=None) -> xr.Dataset:
    train, test, first = _divergence(np.asarray(train, float), np.asarray(test, float))
    extra = None
    if order_parameters:
        extra = _order_parameter_vars(st, p, config.steps + 1, first, types, config.online, cross)
    ds = make_theory_dataset(train, test, resolve(config), first, extra=extra)
    if order_parameters:
        ds = ds.assign_coords(
            step2=np.arange(config.steps + 1),
            layer=np.arange(1, config.depth + 1),
            **({"layer2": np.arange(1, config.depth + 1)} if cross is not None else {}),
            # the input-space types (Eq. 4.10): test_loss = sum_mode mode_weight * test_loss_mode + sigma^2
            mode_lambda=("mode", np.asarray(types.lam, float)),
            mode_b=("mode", np.asarray(types.b, float)),
            mode_weight=("mode", np.asarray(types.w, float)),
        )
    return ds


def _infinite_depth_dataset(config: Config, grids: list, p: tuple, types: _core.Types, depth_steps: int) -> xr.Dataset:
    """The depth .inf Dataset from the (train, test) curves of the three layer-time grids (Sec. 11.7): the
    Richardson value 2 f(M) - f(M/2) (Eq. 11.13) as the losses, the grids' curves as ``*_loss_grid``
    (dims ``depth_grid``, ``step``) and two error measures in the attrs, maxima over train, test and the
    steps before any divergence of |f(M) - f_inf| / f_inf (``depth_grid_error``: the error left without the
    extrapolation) and |R(M) - R(M/2)| / f_inf (``depth_error_estimate``: how much the extrapolated value
    still moves when the grid is halved, ~3x its own error when that is O(1/M^2))."""
    curves = np.asarray(grids, float)  # (grid, train/test, step)
    best = _residual.richardson(curves[1], curves[2])
    ds = _dataset(config, best[0], best[1], None, p, False, types)
    first = int(ds["diverged_step"])
    ok = slice(None, None if first < 0 else first)

    def rel(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.abs(x[:, ok]) / np.abs(best[:, ok])
        return float(np.nanmax(r)) if np.isfinite(r).any() else math.nan

    ds.attrs.update(
        depth_steps=depth_steps,
        depth_grids=list(_residual.depth_grids(depth_steps)),
        depth_grid_error=rel(curves[2] - best),
        depth_error_estimate=rel(best - _residual.richardson(curves[0], curves[1])),
    )
    grid = np.array(_residual.depth_grids(depth_steps))
    return ds.assign(
        train_loss_grid=(("depth_grid", "step"), curves[:, 0]), test_loss_grid=(("depth_grid", "step"), curves[:, 1])
    ).assign_coords(depth_grid=grid)


def _infinite_depth_order_parameters() -> None:
    raise NotImplementedError(
        "order_parameters: the depth .inf solve extrapolates loss curves over layer-time grids; for the order "
        "parameters solve a finite depth (e.g. depth: 64)"
    )


def solve(
    config: Config | dict[str, Any], order_parameters: bool = False, bins: int = DEFAULT_BINS,
    depth_steps: int = DEPTH_STEPS,
) -> xr.Dataset:
    """DMFT learning curves of one configuration (docs/theory.md, Eqs. 4.1-4.11).

    Returns the theory Dataset of ``results.make_theory_dataset``; with ``order_parameters`` also the
    two-time functions C_* and R_* of Table 2 (dims ``step``, ``step2``, and ``layer`` for N-space ones)
    and the test loss per input-space type (``test_loss_mode``, dims ``mode``, ``step``). Only the ratios
    alpha, nu enter; ``config.dim`` only defines a power-law spectrum, whose D modes are grouped into at
    most ``bins`` types (exact when bins >= D; docs/theory.md, Sec. 12). ``depth: .inf`` (residual nets)
    solves the infinite-depth limit on layer-time grids of ``depth_steps`` / 4, / 2 and ``depth_steps``
    steps and extrapolates (Sec. 11.7); ``depth_steps`` is not used at a finite depth.
    """
    config = _as_config(config)
    check_supported(config, bins, depth_steps)
    p = _scalars(config)
    n = config.steps + 1
    types = spectra.spectrum_types(config, bins)
    params = _core.Params(*map(np.float64, p))
    if math.isinf(config.depth):
        if order_parameters:
            _infinite_depth_order_parameters()
        grids = _residual.run_infinite(params, np.float64(config.beta_res), types, n, depth_steps, config.online)
        return _infinite_depth_dataset(config, grids, p, types, depth_steps)
    if config.residual:  # one N-space site for all layers, branch scale a = beta_res/sqrt(L) (Sec. 11)
        a = np.float64(config.branch_scale[1])
        out = _residual.run(params, a, types, config.depth, n, order_parameters, config.online)
    else:
        out = _core.run(params, types, config.depth, n, order_parameters, config.online)
    st = out[2] if order_parameters else None
    cross = out[3] if order_parameters and config.residual else None
    return _dataset(config, out[0], out[1], st, p, order_parameters, types, cross)


def _static_key(config: Config) -> tuple:
    return (
        config.depth,
        config.steps,
        config.residual,
        config.spectrum.model_dump_json(),
        spectra.theory_dim(config),  # a power law's D defines its modes
        config.online,
    )


def solve_batch(
    configs: Iterable[Config | dict[str, Any]], order_parameters: bool = False, bins: int = DEFAULT_BINS,
    depth_steps: int = DEPTH_STEPS,
) -> list[xr.Dataset]:
    """Solve configurations that differ only in eta, gamma0, alpha, nu, noise (or parameterization) in
    ONE vmapped, jit-compiled call (one per layer-time grid at depth .inf). Returns one Dataset per
    configuration, as :func:`solve` does."""
    configs = [_as_config(c) for c in configs]
    if not configs:
        return []
    for c in configs:
        check_supported(c, bins, depth_steps)
    keys = {_static_key(c) for c in configs}
    if len(keys) > 1:
        raise ValueError(
            "solve_batch: configurations must share depth, steps, residual, spectrum (and dim for a power law) "
            "and the online switch "
            f"(they may differ in eta, gamma0, alpha, nu, noise, beta_res); got {len(keys)} different combinations"
        )
    ps = [_scalars(c) for c in configs]
    batch = _core.Params(*(np.array(col, float) for col in zip(*ps)))
    first = configs[0]
    types = spectra.spectrum_types(first, bins)
    if math.isinf(first.depth):
        if order_parameters:
            _infinite_depth_order_parameters()
        beta = np.array([c.beta_res for c in configs], float)
        grids = _residual.run_infinite(batch, beta, types, first.steps + 1, depth_steps, first.online, batched=True)
        grids = [[np.asarray(x) for x in g] for g in grids]
        return [
            _infinite_depth_dataset(c, [[x[i] for x in g] for g in grids], p, types, depth_steps)
            for i, (c, p) in enumerate(zip(configs, ps))
        ]
    if first.residual:  # beta_res may differ within the batch: the branch scale is traced
        branch = np.array([c.branch_scale[1] for c in configs], float)
        out = _residual.run_batch(batch, branch, types, first.depth, first.steps + 1, order_parameters, first.online)
    else:
        out = _core.run_batch(batch, types, first.depth, first.steps + 1, order_parameters, first.online)
    train, test = np.asarray(out[0]), np.asarray(out[1])
    result = []
    for i, (c, p) in enumerate(zip(configs, ps)):
        st = _core.State(*(a[i] for a in out[2])) if order_parameters else None
        cross = _residual.Cross(*(a[i] for a in out[3])) if order_parameters and first.residual else None
        result.append(_dataset(c, train[i], test[i], st, p, order_parameters, types, cross))
    return result
