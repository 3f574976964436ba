"""Config -> DMFT scalars -> xarray.Dataset (docs/theory.md, Sec. 6 and 7)."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import xarray as xr

from ..config import Config, ConfigError, Isotropic, parse_config, resolve
from ..results import make_theory_dataset
from . import _core

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


def solver_bytes(config: Config) -> float:
    """Memory of the solver state: per layer 2 (T x 2T) coefficient and 2 (T x T) order-parameter
    arrays, the D-space (2 x T x 2T) and P-space arrays, times ~2 for the step's temporaries."""
    n, depth = config.steps + 1, config.depth
    return 2 * 8.0 * n * n * (6 * depth + 8)


def check_supported(config: Config) -> None:
    """Raise NotImplementedError naming the field for what this DMFT does not cover (yet), and a
    ConfigError for a horizon whose T x T arrays would not fit in memory."""
    need = solver_bytes(config)
    if need > MEMORY_LIMIT:
        longest = int(math.sqrt(MEMORY_LIMIT / (16.0 * (6 * config.depth + 8)))) - 1
        raise ConfigError(
            f"steps: the theory keeps T x T arrays; T = {config.steps} at depth {config.depth} needs "
            f"{need / 1e9:.0f} GB (limit {MEMORY_LIMIT / 1e9:.0f} GB); allowed: steps <= {longest} at this depth"
        )
    if config.residual:
        raise NotImplementedError(
            "residual: the theory engine covers plain nets only (residual: false); residual nets couple "
            "the layers of one N-space site and are not implemented yet"
        )
    if not isinstance(config.spectrum, Isotropic):
        raise NotImplementedError(
            f"spectrum: kind '{config.spectrum.kind}' is not implemented in the theory engine yet; "
            "only {kind: isotropic}"
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


def _isotropic_types() -> _core.Types:
    one = np.ones(1)
    return _core.Types(lam=one, b=one, w=one)


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


def _order_parameter_vars(st: _core.State, p: tuple[float, ...], n: int, first_bad: int) -> dict:
    """C and R functions (docs/theory.md, Table 2) as Dataset variables."""
    _, _, inv_alpha, _, c0, _ = p
    st = _core.State(*(np.array(a) for a in st))  # writable copies (NaN-masked below)
    tt, ll = ("step", "step2"), ("layer", "step", "step2")
    w = np.ones(1)  # isotropic: a single input-space type
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
    if first_bad >= 0:
        for dims, arr in out.values():
            arr[..., first_bad:, :] = np.nan
            arr[..., :, first_bad:] = np.nan
    return out


def _dataset(config: Config, train, test, st, p, order_parameters: bool) -> xr.Dataset:
    train, test, first = _divergence(np.asarray(train, float), np.asarray(test, float))
    extra = _order_parameter_vars(st, p, config.steps + 1, first) if order_parameters else None
    ds = make_theory_dataset(train, test, resolve(config), first, extra=extra)
    if order_parameters:
        ds = ds.assign_coords(step2=np.arange(config.steps + 1), layer=np.arange(1, config.depth + 1))
    return ds


def solve(config: Config | dict[str, Any], order_parameters: bool = False) -> xr.Dataset:
    """DMFT learning curves of one configuration (docs/theory.md, Eqs. 4.1-4.11).

    Returns the theory Dataset of ``results.make_theory_dataset``; with ``order_parameters`` also the
    two-time functions C_* and R_* of Table 2 (dims ``step``, ``step2``, and ``layer`` for N-space ones).
    Only the ratios alpha, nu enter; ``config.dim`` is ignored.
    """
    config = _as_config(config)
    check_supported(config)
    p = _scalars(config)
    n = config.steps + 1
    out = _core.run(
        _core.Params(*map(np.float64, p)), _isotropic_types(), config.depth, n, order_parameters, config.online
    )
    st = out[2] if order_parameters else None
    return _dataset(config, out[0], out[1], st, p, order_parameters)


def _static_key(config: Config) -> tuple:
    return (config.depth, config.steps, config.residual, config.spectrum.model_dump_json(), config.online)


def solve_batch(configs: Iterable[Config | dict[str, Any]], order_parameters: bool = False) -> list[xr.Dataset]:
    """Solve configurations that differ only in eta, gamma0, alpha, nu, noise (or parameterization) in
    ONE vmapped, jit-compiled call. Returns one Dataset per configuration, as :func:`solve` does."""
    configs = [_as_config(c) for c in configs]
    if not configs:
        return []
    for c in configs:
        check_supported(c)
    keys = {_static_key(c) for c in configs}
    if len(keys) > 1:
        raise ValueError(
            "solve_batch: configurations must share depth, steps, residual, spectrum and the online switch "
            f"(they may differ in eta, gamma0, alpha, nu, noise); got {len(keys)} different combinations"
        )
    ps = [_scalars(c) for c in configs]
    batch = _core.Params(*(np.array(col, float) for col in zip(*ps)))
    first = configs[0]
    out = _core.run_batch(batch, _isotropic_types(), first.depth, first.steps + 1, order_parameters, first.online)
    train, test = np.asarray(out[0]), np.asarray(out[1])
    result = []
    for i, (c, p) in enumerate(zip(configs, ps)):
        st = _core.State(*(a[i] for a in out[2])) if order_parameters else None
        result.append(_dataset(c, train[i], test[i], st, p, order_parameters))
    return result
