"""One result type for both engines: an ``xarray.Dataset`` <-> JSON (docs/model.md, 'Result format').

Dataset layout
--------------
* coordinate ``step`` = 0..T (loss with the weights after ``step`` updates);
* ``train_loss_mean``, ``test_loss_mean`` (step); simulations add ``train_loss_sem``,
  ``test_loss_sem`` (step), the per-seed curves ``train_loss``, ``test_loss`` (seed, step; NaN after
  a seed diverged) and ``diverged_step`` (seed; -1 if it did not diverge);
* theory may add order parameters (any dims, e.g. ``step``, ``step2``);
* ``attrs``: ``engine`` ("theory" | "simulation"), ``config`` (resolved config as JSON text).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "make_simulation_dataset",
    "make_theory_dataset",
    "resolved_config",
    "to_json",
    "from_json",
    "save",
    "load",
    "json_safe",
    "summary_stats",
]


def summary_stats(curves: np.ndarray, diverged_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over the seeds that did not diverge (axis 0 = seed)."""
    ok = np.asarray(diverged_step) < 0
    kept = np.asarray(curves)[ok]
    n = kept.shape[0]
    if n == 0:
        nan = np.full(curves.shape[1:], np.nan)
        return nan, nan
    mean = kept.mean(axis=0)
    sem = kept.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    return mean, sem


def make_simulation_dataset(
    train: np.ndarray, test: np.ndarray, diverged_step: np.ndarray, config: dict[str, Any]
) -> xr.Dataset:
    """Per-seed curves (seed, step) -> Dataset with means, standard errors and divergence flags."""
    train, test = np.asarray(train, float), np.asarray(test, float)
    diverged_step = np.asarray(diverged_step, int)
    seeds, steps = train.shape
    train_mean, train_sem = summary_stats(train, diverged_step)
    test_mean, test_sem = summary_stats(test, diverged_step)
    return xr.Dataset(
        {
            "train_loss": (("seed", "step"), train),
            "test_loss": (("seed", "step"), test),
            "diverged_step": (("seed",), diverged_step),
            "train_loss_mean": (("step",), train_mean),
            "train_loss_sem": (("step",), train_sem),
            "test_loss_mean": (("step",), test_mean),
            "test_loss_sem": (("step",), test_sem),
        },
        coords={"seed": np.arange(seeds), "step": np.arange(steps)},
        attrs={"engine": "simulation", "config": json.dumps(config)},
    )


def make_theory_dataset(
    train: np.ndarray,
    test: np.ndarray,
    config: dict[str, Any],
    diverged_step: int = -1,
    extra: dict[str, tuple[tuple[str, ...], np.ndarray]] | None = None,
) -> xr.Dataset:
    """Deterministic curves (step) -> Dataset; ``extra`` holds order parameters."""
    train, test = np.asarray(train, float), np.asarray(test, float)
    data = {
        "train_loss_mean": (("step",), train),
        "test_loss_mean": (("step",), test),
        "diverged_step": ((), int(diverged_step)),
    }
    data.update(extra or {})
    return xr.Dataset(
        data,
        coords={"step": np.arange(train.shape[0])},
        attrs={"engine": "theory", "config": json.dumps(config)},
    )


def resolved_config(ds: xr.Dataset) -> dict[str, Any]:
    return json.loads(ds.attrs["config"])


def json_safe(value: Any) -> Any:
    """Strict-JSON copy: NaN and inf floats become null."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _listed(a: Any) -> list:
    return json_safe([float(x) for x in np.asarray(a, float).ravel()])


def diverged_summary(ds: xr.Dataset) -> dict[str, Any]:
    steps = np.atleast_1d(np.asarray(ds["diverged_step"].values, int))
    hit = [int(s) for s in steps if s >= 0]
    return {"count": len(hit), "steps": hit}


def to_json(ds: xr.Dataset, per_seed: bool = False) -> dict[str, Any]:
    """The JSON form of docs/model.md (theory: no "sem"; NaN/inf become null)."""
    out: dict[str, Any] = {
        "engine": ds.attrs["engine"],
        "config": resolved_config(ds),
        "step": [int(s) for s in ds["step"].values],
    }
    for name in ("train_loss", "test_loss"):
        entry = {"mean": _listed(ds[f"{name}_mean"].values)}
        if f"{name}_sem" in ds:
            entry["sem"] = _listed(ds[f"{name}_sem"].values)
        if per_seed and name in ds and "seed" in ds[name].dims:
            entry["per_seed"] = [_listed(row) for row in ds[name].values]
        out[name] = entry
    out["diverged"] = diverged_summary(ds)
    return out


def from_json(data: dict[str, Any] | str) -> xr.Dataset:
    """Rebuild the mean curves of a JSON result as a Dataset (per-seed curves when present)."""
    if isinstance(data, str):
        data = json.loads(data)

    def arr(values):
        return np.array([np.nan if v is None else v for v in values], float)

    steps = np.asarray(data["step"], int)
    ds = xr.Dataset(coords={"step": steps}, attrs={"engine": data["engine"], "config": json.dumps(data["config"])})
    for name in ("train_loss", "test_loss"):
        ds[f"{name}_mean"] = ("step", arr(data[name]["mean"]))
        if "sem" in data[name]:
            ds[f"{name}_sem"] = ("step", arr(data[name]["sem"]))
        if "per_seed" in data[name]:
            ds[name] = (("seed", "step"), np.array([arr(r) for r in data[name]["per_seed"]]))
    steps_div = list(data["diverged"]["steps"])
    if data["engine"] == "theory":
        ds["diverged_step"] = ((), steps_div[0] if steps_div else -1)
    elif "train_loss" in ds:  # per-seed curves: a seed diverged where its curve turns NaN
        bad = ~np.isfinite(ds["train_loss"].values)
        ds["diverged_step"] = ("seed", np.where(bad.any(1), bad.argmax(1), -1))
    else:  # only the count and steps are known, not which seed: diverged ones first
        seeds = int(data["config"].get("seeds", len(steps_div)))
        ds["diverged_step"] = ("seed", np.asarray(steps_div + [-1] * (seeds - len(steps_div)), int))
    return ds


def save(ds: xr.Dataset, out_dir: str | Path, stem: str = "result", per_seed: bool = False) -> dict[str, Path]:
    """Write ``stem.nc`` (NetCDF) and ``stem.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"nc": out_dir / f"{stem}.nc", "json": out_dir / f"{stem}.json"}
    ds.to_netcdf(paths["nc"], engine="netcdf4")
    paths["json"].write_text(json.dumps(to_json(ds, per_seed=per_seed), indent=1))
    return paths


def load(path: str | Path) -> xr.Dataset:
    path = Path(path)
    if path.suffix == ".json":
        return from_json(path.read_text())
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()
