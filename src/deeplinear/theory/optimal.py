"""The optimal learning rate of the theory by automatic differentiation through the DMFT solver.

    optimal_eta(config, which="test") -> OptimalEta(eta, loss, ...)

minimises the loss after T = ``config.steps`` steps over eta, in x = log eta. The derivative dL/dx is
exact (to rounding): the causal solver ``_core._solve`` is a pure jax function of the
scalars ``Params`` (a ``fori_loop`` with static bounds over jnp updates, no data-dependent control
flow), so it can be differentiated as written; eta enters only through ``Params.eta``. Forward mode
(``jax.jvp``, one jitted pass giving L and dL/dx) is used by default: one input direction, memory of
about two solves. Reverse mode (``jax.grad``) gives the same derivative (see :func:`loss_derivatives`)
but stores the state of every step: O(T) solver states, which is gigabytes at depth 3, T = 200.
Second derivatives (jvp of jvp) double the compile time for little gain, so the search uses secant
steps on dL/dx instead of Newton steps.

The search, all in x = log eta:

1. Upper bound: the stability edge *of the theory at this T*: the largest eta whose curve does not
   diverge within T steps (the rule of ``solve``: loss above DIVERGENCE_FACTOR times its initial
   value, or not finite), found by doubling/halving from the lazy edge ``2 / lambda_max`` of the
   infinite-width initial kernel, K (1 + alpha^-1/2)^2 for isotropic data with K = L + 1 (residual nets:
   ``lazy_kernel``; Marchenko-Pastur edge; online SGD: the batch ratio b in place of alpha),
   then bisection in log eta to a relative width ``edge_rtol``. At finite nu and gamma0 the true
   edge differs from the lazy one, which is only the starting guess.
2. Bracket: a log grid of ``grid`` points on [edge / ``span``, edge]; the best grid point and its
   neighbours bracket the minimum (dL/dx < 0 at the left end, > 0 at the right end).
   The grid is evaluated with the same jitted (L, dL/dx) function, so one compilation serves all.
3. Safeguarded secant on dL/dx: a secant step through the last two iterates while it stays inside
   the bracket, bisection otherwise, and bisection whenever the bracket has not halved in three steps
   (so a large derivative at one end cannot stall the secant); the bracket shrinks with the sign of
   dL/dx; stop when the bracket is below ``xtol``; the best point evaluated is returned.

The loss after T steps need not be smooth near the edge (at long T it wiggles there: period-two
oscillations that die out or not within T steps), so the coarse grid is dense (``grid`` = 24 points,
a factor 1.2 apart over ``span`` = 100); when dL/dx does not change sign beside the best grid point,
a finer grid of 9 points between its neighbours replaces it (up to ``refine`` times); the result is
never worse than the best point evaluated.

When the loss still decreases at the edge, the result is the edge with ``at_edge=True`` (a bound, not
an interior optimum); likewise ``at_edge=True`` for a minimum on the low end of the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from ..config import Config
from . import _core
from ._api import _as_config, _scalars, check_supported, solve
from .spectra import spectrum_types

__all__ = ["OptimalEta", "optimal_eta", "stability_edge", "lazy_edge", "lazy_kernel", "loss_derivatives"]

Which = Literal["test", "train"]


@dataclass(frozen=True)
class OptimalEta:
    """Result of :func:`optimal_eta`: ``eta`` and ``loss`` there; ``edge`` the upper bound searched,
    ``bracket`` the final (eta_a, eta_b), ``grad`` dL/dlog(eta) at ``eta``; ``iterations`` secant/bisection steps."""

    eta: float
    loss: float
    edge: float
    at_edge: bool
    bracket: tuple[float, float]
    grad: float
    iterations: int


def _loss(x, p: _core.Params, ty: _core.Types, depth: int, n: int, which: str, online: bool):
    """Loss after T steps as a function of x = log eta (a traced scalar)."""
    train, test = _core._solve(p._replace(eta=jnp.exp(x)), ty, depth, n, False, online)
    return (test if which == "test" else train)[n - 1]


@lru_cache(maxsize=None)
def _compiled(depth: int, n: int, which: str, mode: str, online: bool):
    """Jitted (L, dL/dx) at x = log eta: forward mode (jax.jvp) or reverse mode (jax.value_and_grad)."""

    def f(x, p, ty):
        return _loss(x, p, ty, depth, n, which, online)

    if mode == "reverse":
        return jax.jit(jax.value_and_grad(f))
    return jax.jit(lambda x, p, ty: jax.jvp(lambda z: f(z, p, ty), (x,), (1.0,)))


def _setup(config: Config | dict[str, Any]):
    config = _as_config(config)
    check_supported(config)
    if config.residual:  # the derivative below goes through the plain-net solver only
        raise NotImplementedError(
            "residual: optimal_eta and loss_derivatives differentiate the plain-net solver; for residual nets "
            "(and depth .inf) use stability_edge or a sweep over eta"
        )
    p = _core.Params(*map(np.float64, _scalars(config)))
    return config, p, spectrum_types(config), config.depth, config.steps + 1, config.online


def loss_derivatives(config: Config | dict[str, Any], eta: float, which: Which = "test",
                     mode: Literal["forward", "reverse"] = "forward") -> tuple[float, float]:
    """(L, dL/dlog eta) after T steps at ``eta``, by forward mode (jax.jvp) or reverse mode (jax.grad)."""
    config, p, ty, depth, n, online = _setup(config)
    value, grad = _compiled(depth, n, which, mode, online)(math.log(eta), p, ty)
    return float(value), float(grad)


def lazy_kernel(config: Config) -> float:
    """The infinite-width lazy kernel K (times Sigma_hat): L + 1 for plain nets, Eq. (11.8) for residual
    nets, (2 + beta_res^2) e^{beta_res^2} at depth .inf (Eq. 11.15)."""
    if not config.residual:
        return config.depth + 1.0
    if math.isinf(config.depth):
        return (2.0 + config.beta_res**2) * math.exp(config.beta_res**2)
    a2, depth = config.branch_scale[1] ** 2, config.depth
    return 2 * (1 + a2) ** (depth - 1) + (depth - 1) * a2 * (1 + a2) ** max(depth - 2, 0)


def lazy_edge(config: Config) -> float:
    """2 / lambda_max of the infinite-width lazy kernel K Sigma_hat on isotropic data (MP edge);
    online SGD: Sigma_hat of one batch, ratio b = B/D instead of alpha."""
    ratio = config.batch if config.online else config.alpha
    top = (1.0 + 1.0 / math.sqrt(ratio)) ** 2
    return 2.0 / (lazy_kernel(config) * top)


def _diverges(config: Config, eta: float) -> bool:
    return int(solve(config.replace(eta=eta))["diverged_step"]) >= 0


def stability_edge(config: Config | dict[str, Any], rtol: float = 0.01) -> tuple[float, float]:
    """(stable, diverging) learning rates of the theory at this T, within a factor 1 + rtol (docstring, 1)."""
    config = _as_config(config)
    lo = hi = lazy_edge(config)
    if _diverges(config, lo):
        for _ in range(40):
            lo /= 2
            if not _diverges(config, lo):
                break
        else:
            raise RuntimeError(f"eta: the theory diverges for every eta down to {lo:g}")
    else:
        for _ in range(40):
            hi *= 2
            if _diverges(config, hi):
                break
            lo = hi
        else:
            raise RuntimeError(f"eta: no divergence found up to {hi:g}")
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if _diverges(config, mid) else (mid, hi)
    return lo, hi


def optimal_eta(
    config: Config | dict[str, Any],
    which: Which = "test",
    *,
    eta_max: float | None = None,
    span: float = 100.0,
    grid: int = 24,
    refine: int = 3,
    xtol: float = 1e-4,
    max_iter: int = 60,
    edge_rtol: float = 0.01,
) -> OptimalEta:
    """The learning rate minimising the loss after T steps (module docstring); ``eta_max`` skips step 1."""
    config, p, ty, depth, n, online = _setup(config)
    edge = eta_max if eta_max is not None else stability_edge(config, edge_rtol)[0]
    fg = _compiled(depth, n, which, "forward", online)

    def at(x):
        f, g = fg(x, p, ty)
        return float(f), float(g)

    def result(x, f, g, a, b, it, at_edge):
        return OptimalEta(math.exp(x), float(f), edge, at_edge, (math.exp(a), math.exp(b)), float(g), it)

    xs = np.linspace(math.log(edge / span), math.log(edge), grid)
    for level in range(refine + 1):
        fs, gs = np.array([at(x) for x in xs]).T
        i = int(np.argmin(np.where(np.isfinite(fs), fs, np.inf)))
        if level == 0 and ((i == grid - 1 and gs[i] <= 0) or (i == 0 and gs[i] >= 0)):
            return result(xs[i], fs[i], gs[i], xs[i], xs[i], 0, True)
        # the minimum lies next to the best point, on the side where dL/dx changes sign
        j = i + 1 if gs[i] < 0 else i - 1
        if 0 <= j < len(xs) and gs[i] * gs[j] < 0:
            break
        # no sign change beside it (the loss wiggles): a finer grid between its neighbours
        xs = np.linspace(xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)], 9)
    else:
        return result(xs[i], fs[i], gs[i], xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)], 0, False)
    (a, ga), (b, gb) = sorted([(xs[i], gs[i]), (xs[j], gs[j])])
    x0, g0, x1, g1 = a, ga, b, gb
    best = (fs[i], xs[i], gs[i])
    last_width = b - a
    for it in range(1, max_iter + 1):
        step = -g1 * (x1 - x0) / (g1 - g0) if g1 != g0 else math.nan
        x = x1 + step if math.isfinite(step) else math.nan
        if it % 3 == 0:  # the bracket must halve every three steps, or bisect (secant stagnation)
            if b - a > 0.5 * last_width:
                x = math.nan
            last_width = b - a
        if not a + 0.25 * xtol < x < b - 0.25 * xtol:
            x = 0.5 * (a + b)
        f, g = at(x)
        best = min(best, (f, x, g))
        a, b = (x, b) if g < 0 else (a, x)
        if b - a < xtol:
            f, x, g = best
            return result(x, f, g, a, b, it, False)
        x0, g0, x1, g1 = x1, g1, x, g
    f, x, g = best
    return result(x, f, g, a, b, max_iter, False)
