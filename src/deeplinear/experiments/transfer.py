"""Learning-rate transfer: the optimal eta of a sweep, per width (or depth), as pure functions of Datasets.

Input: a sweep Dataset (deeplinear.sweep) with an ``eta`` axis. The score of a point is its loss after T
steps (``test`` by default, or ``train``; the last step unless ``step`` is given). A point is left out
when it diverged (any seed, ``diverged > 0``) or its score is not finite; left-out points are counted.

Per combination of the other axes, :func:`optimum` gives

* ``eta_grid``: the grid point with the lowest score; ``loss_opt`` its score;
* ``eta_lo``, ``eta_hi``: the bracket, its neighbouring grid points (a left-out neighbour still bounds
  the optimum from above: the loss there is worse);
* ``eta_opt``: the vertex of the parabola through the minimum and its two neighbours in
  (log eta, log loss), clipped to the bracket; the grid point where a neighbour is missing (or a
  loss is not > 0: rounding-level losses);
* ``edge``: -1 / +1 when the minimum lies on the low / high end of the usable grid (no valid neighbour
  on that side: grid end, or the next eta diverged), else 0; an edge optimum is only a bound;
* ``n_diverged``: points left out along eta.

:func:`fit_exponent` fits eta_opt ∝ width^p (least squares in log-log, edge optima and an infinite width,
the limit of a depth axis, left out).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["score", "usable", "optimum", "fit_exponent", "parabola_vertex", "transfer_summary"]


def score(ds: xr.Dataset, which: str = "test", step: int | None = None) -> xr.DataArray:
    """Loss after ``step`` updates (default: the last step), over the sweep axes."""
    if which not in ("test", "train"):
        raise ValueError(f"which: 'test' or 'train' (got {which!r})")
    curves = ds[f"{which}_loss_mean"]
    return curves.isel(step=-1) if step is None else curves.sel(step=step)


def usable(ds: xr.Dataset, which: str = "test", step: int | None = None) -> xr.DataArray:
    """True where the point did not diverge (no seed) and its score is finite."""
    ok = np.isfinite(score(ds, which, step))
    if "diverged" in ds:
        ok = ok & (ds["diverged"] == 0)
    return ok


def parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Abscissa of the vertex of the parabola through three points (x sorted); NaN if not convex."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if den >= 0 or not math.isfinite(num / den if den else math.nan):
        return math.nan  # den < 0 for a convex parabola with x0 < x1 < x2
    return x1 - 0.5 * num / den


def _optimum_1d(eta: np.ndarray, loss: np.ndarray, ok: np.ndarray) -> dict[str, float]:
    """Optimum along one eta line (eta increasing)."""
    n_div = int((~ok).sum())
    nan = dict(eta_grid=math.nan, eta_opt=math.nan, eta_lo=math.nan, eta_hi=math.nan, loss_opt=math.nan,
               edge=0, n_diverged=n_div)
    if not ok.any():
        return nan
    i = int(np.nanargmin(np.where(ok, loss, np.inf)))
    left = i > 0 and ok[i - 1]
    right = i < len(eta) - 1 and ok[i + 1]
    edge = -1 if not left else (1 if not right else 0)
    eta_opt = eta[i]
    if left and right and (loss[i - 1 : i + 2] > 0).all():
        v = parabola_vertex(np.log(eta[i - 1 : i + 2]), np.log(loss[i - 1 : i + 2]))
        if math.isfinite(v):
            eta_opt = float(np.clip(math.exp(v), eta[i - 1], eta[i + 1]))
    return dict(
        eta_grid=float(eta[i]),
        eta_opt=float(eta_opt),
        eta_lo=float(eta[i - 1]) if i > 0 else float(eta[i]),
        eta_hi=float(eta[i + 1]) if i < len(eta) - 1 else float(eta[i]),
        loss_opt=float(loss[i]),
        edge=edge,
        n_diverged=n_div,
    )


def optimum(ds: xr.Dataset, eta_dim: str = "eta", which: str = "test", step: int | None = None) -> xr.Dataset:
    """The optimal eta per combination of the other axes (module docstring); pure."""
    loss = score(ds, which, step)
    ok = usable(ds, which, step)
    if eta_dim not in loss.dims:
        raise ValueError(f"{eta_dim}: the sweep has no such axis (axes: {list(loss.dims)})")
    order = np.argsort(ds[eta_dim].values)
    loss, ok = loss.isel({eta_dim: order}), ok.isel({eta_dim: order})
    rest = [d for d in loss.dims if d != eta_dim]
    loss = loss.transpose(*rest, eta_dim)
    ok = ok.transpose(*rest, eta_dim)
    eta = loss[eta_dim].values.astype(float)
    shape = tuple(loss.sizes[d] for d in rest)
    rows = [_optimum_1d(eta, loss.values[idx], ok.values[idx]) for idx in itertools.product(*map(range, shape))]
    out = {k: (rest, np.array([r[k] for r in rows]).reshape(shape)) for k in rows[0]} if rows else {}
    return xr.Dataset(out, coords={d: ds[d].values for d in rest},
                      attrs={"which": which, "step": int(ds["step"].values[-1] if step is None else step)})


def fit_exponent(opt: xr.Dataset, width_dim: str = "nu", var: str = "eta_opt") -> xr.Dataset:
    """Least-squares fit log eta_opt = log c + p log width over widths (edge optima and width inf left out).

    Returns ``exponent`` (p), ``prefactor`` (c), ``n_fit`` (points used; p is NaN below 2) and ``spread``
    = max / min of eta_opt across the fitted widths (how far the optimum moves), per other axis.
    """
    arr = opt[var].transpose(..., width_dim)
    edge = opt["edge"].transpose(..., width_dim)
    with np.errstate(divide="ignore"):
        w = np.log(opt[width_dim].values.astype(float))
    rest = [d for d in arr.dims if d != width_dim]
    shape = tuple(arr.sizes[d] for d in rest)
    res = {k: np.full(shape, np.nan) for k in ("exponent", "prefactor", "spread")}
    res["n_fit"] = np.zeros(shape, dtype=np.int64)
    for idx in itertools.product(*map(range, shape)):
        y, e = arr.values[idx], edge.values[idx]
        keep = np.isfinite(y) & (e == 0) & np.isfinite(w)
        res["n_fit"][idx] = int(keep.sum())
        if keep.sum() >= 2:
            p, logc = np.polyfit(w[keep], np.log(y[keep]), 1)
            res["exponent"][idx], res["prefactor"][idx] = p, math.exp(logc)
            res["spread"][idx] = float(y[keep].max() / y[keep].min())
    return xr.Dataset({k: (rest, v) for k, v in res.items()}, coords={d: opt[d].values for d in rest})


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x.item() if isinstance(x, np.generic) else x


def _coord(x: Any) -> Any:
    """A coordinate value for JSON: an infinite one (depth .inf) as "inf", as in resolved configs."""
    if isinstance(x, (float, np.floating, np.ndarray)) and np.ndim(x) == 0 and np.isinf(x):
        return "inf"
    return _jsonable(x)


def transfer_summary(ds: xr.Dataset, width_dim: str = "nu", eta_dim: str = "eta", which: str = "test") -> dict:
    """JSON-ready optimum table and width exponent for every combination of the remaining axes."""
    opt = optimum(ds, eta_dim, which)
    fit = fit_exponent(opt, width_dim) if width_dim in opt.dims else None
    rest = [d for d in opt.dims if d != width_dim]
    rows = []
    for idx in itertools.product(*[range(opt.sizes[d]) for d in rest]):
        sel = {d: i for d, i in zip(rest, idx)}
        o = opt.isel(sel)
        row = {"where": {d: _coord(opt[d].values[i]) for d, i in sel.items()}}
        widths = o[width_dim].values if width_dim in o.dims else [None]
        row["optima"] = [
            {width_dim: _coord(w), **{k: _jsonable(o[k].values[j] if width_dim in o.dims else o[k].values)
                                         for k in o.data_vars}}
            for j, w in enumerate(widths)
        ]
        if fit is not None:
            f = fit.isel(sel)
            row["fit"] = {k: _jsonable(f[k].values) for k in f.data_vars}
        rows.append(row)
    return {"which": which, "step": opt.attrs["step"], "width_dim": width_dim, "rows": rows}
