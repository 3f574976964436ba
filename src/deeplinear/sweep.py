"""Run a sweep (sweep_spec.py) with either engine, locally or on a dask cluster, resumably.

    run_sweep(spec, engine="theory", scheduler=None, out=DIR, progress=cb) -> xarray.Dataset

Work is split into *units* fixed by the sweep alone (never by what is already done), so a rerun
repeats exactly the computation of an uninterrupted run:

* theory: points that differ only in fields ``solve_batch`` vmaps over (eta, gamma0, alpha, batch, nu,
  noise, parameterization; not the online switch) form a group; each group is cut, in grid order, into chunks of ``spec.chunk``
  points, and one chunk is ONE ``solve_batch`` call;
* simulation: one point is one unit (``simulate`` with the point's ``dim`` and ``seeds``).

Every point is written as soon as its unit finishes, as ``OUT/points/<key>.nc`` (the engine's own
Dataset; ``key`` = hash of engine and resolved point config, written atomically). A rerun skips the
units whose points all exist, then assembles ``OUT/sweep.nc`` (NetCDF, engine netcdf4) from the point
files alone, in grid order: an interrupted-then-resumed sweep gives the same bytes as an
uninterrupted one.

Result layout: one dimension per axis (coordinate = the axis values; mappings as JSON text) plus
``step``; ``train_loss_mean``, ``test_loss_mean`` (axes..., step) and, for simulations, ``*_sem``;
``diverged`` (axes...) = number of diverged seeds (theory: 0 or 1), ``diverged_step`` (axes...) =
first divergence step (-1: none). Diverged points are kept (their curves NaN from the divergence on).
``config`` (axes...) holds each point's resolved configuration as JSON text; ``attrs`` hold ``engine``,
``sweep`` (the expanded sweep as JSON), ``axes`` and ``config`` (the resolved base configuration).
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

import numpy as np
import xarray as xr

from .config import Config, ConfigError, Isotropic, parse_config, resolve
from .results import load
from .sweep_spec import SweepSpec, grid_points, parse_sweep

__all__ = ["run_sweep", "work_units", "map_units", "point_key", "assemble", "VMAPPED_FIELDS"]

Engine = Literal["theory", "simulation"]
#: config fields that theory.solve_batch takes as traced (vmapped) values
VMAPPED_FIELDS = frozenset({"eta", "gamma0", "alpha", "batch", "nu", "noise", "parameterization"})
#: fields a theory point ignores (they never split a batch)
_SIMULATION_ONLY = frozenset({"dim", "seeds"})


def _theory_ignores(config: Config) -> frozenset:
    """dim defines the modes of a power-law or custom spectrum (docs/theory.md, Sec. 12): only an
    isotropic theory point ignores it."""
    return _SIMULATION_ONLY if isinstance(config.spectrum, Isotropic) else frozenset({"seeds"})


def _resolved(config: Config, engine: Engine) -> dict[str, Any]:
    """The resolved point config; the theory ignores (and so drops) seeds, and dim for isotropic data."""
    if engine == "simulation":
        return resolve(config, config.dim)
    return {k: v for k, v in resolve(config).items() if k not in _theory_ignores(config)}


def point_key(config: Config, engine: Engine) -> str:
    """Stable file key of one point: a hash of the engine and its resolved configuration."""
    text = json.dumps({"engine": engine, "config": _resolved(config, engine)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _group_key(config: Config) -> str:
    dump = config.model_dump()
    fixed = {k: v for k, v in dump.items() if k not in VMAPPED_FIELDS | _theory_ignores(config)}
    return json.dumps({**fixed, "online": config.online}, sort_keys=True, default=str)


def work_units(configs: list[Config], engine: Engine, chunk: int) -> list[list[int]]:
    """Indices of points computed together, fixed by the sweep alone (see the module docstring)."""
    if engine == "simulation":
        return [[i] for i in range(len(configs))]
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(_group_key(c), []).append(i)
    return [idx[k : k + chunk] for idx in groups.values() for k in range(0, len(idx), chunk)]


def compute_unit(engine: Engine, configs: list[dict[str, Any]], bins: int | None = None) -> list[xr.Dataset]:
    """The engine's Datasets for one unit (a top-level function: it runs in worker processes);
    ``bins``: the theory's input-space types (None: the solver's default)."""
    cfgs = [parse_config(c) for c in configs]
    if engine == "theory":
        from .theory import solve_batch

        return solve_batch(cfgs) if bins is None else solve_batch(cfgs, bins=bins)
    from .simulation import simulate

    return [simulate(c) for c in cfgs]


def _write_point(ds: xr.Dataset, path: Path) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    ds.to_netcdf(tmp, engine="netcdf4")
    os.replace(tmp, path)  # atomic: a killed sweep never leaves a half-written point


def _check_engine(spec: SweepSpec, configs: list[Config], engine: Engine) -> None:
    if engine not in ("theory", "simulation"):
        raise ConfigError(f"engine: must be 'theory' or 'simulation' (got {engine!r})")
    if engine == "simulation" and any(c.dim is None for c in configs):
        raise ConfigError("base.dim: a simulation sweep needs D; allowed: an integer >= 2 (set dim in base or as an axis)")
    if engine == "theory":
        from .theory import check_supported

        for c in configs:
            check_supported(c)  # NotImplementedError naming the field, before anything runs


def _executor_map(units, engine, workers, bins):
    """(unit, datasets) as units finish, across spawned local processes."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(compute_unit, engine, cfgs, bins): u for u, cfgs in units}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _dask_map(units, engine, scheduler, bins):
    """(unit, datasets) as units finish on a dask.distributed cluster; points are written here."""
    from distributed import Client, as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {client.submit(compute_unit, engine, cfgs, bins, pure=False): u for u, cfgs in units}
        try:
            for fut in dask_completed(list(futures)):
                yield futures[fut], fut.result()
        finally:
            client.cancel(list(futures))
    finally:
        if client is not scheduler:
            client.close()


def _serial_map(units, engine, bins):
    for u, cfgs in units:
        yield u, compute_unit(engine, cfgs, bins)


def map_units(units, engine: Engine, scheduler: Any = None, workers: int = 1, bins: int | None = None):
    """``(unit, datasets)`` for each ``(unit, config dicts)`` in ``units``, as they finish: on the
    ``dask.distributed`` cluster at ``scheduler`` (an address or ``Client``), else across ``workers``
    spawned local processes, else (``workers=1``) here."""
    if scheduler is not None:
        return _dask_map(units, engine, scheduler, bins)
    if workers > 1 and len(units) > 1:
        return _executor_map(units, engine, min(workers, len(units)), bins)
    return _serial_map(units, engine, bins)


def run_sweep(
    spec: SweepSpec | dict[str, Any],
    engine: Engine = "theory",
    scheduler: Any = None,
    out: str | Path = "results/sweep",
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> xr.Dataset:
    """Compute the missing points of a sweep, then assemble and write ``OUT/sweep.nc``.

    ``scheduler``: None (local: theory in this process, simulations across ``workers`` spawned
    processes; ``workers=1`` runs them here), or a ``dask.distributed`` address (or ``Client``).
    ``progress(done, total)`` counts points, including those found on disk.
    """
    spec = parse_sweep(spec)
    points = grid_points(spec)
    configs = [c for _, c in points]
    _check_engine(spec, configs, engine)
    out = Path(out)
    point_dir = out / "points"
    point_dir.mkdir(parents=True, exist_ok=True)
    paths = [point_dir / f"{point_key(c, engine)}.nc" for c in configs]

    todo = [u for u in work_units(configs, engine, spec.chunk) if not all(paths[i].exists() for i in u)]
    done = len(configs) - sum(len(u) for u in todo)
    if progress is not None:
        progress(done, len(configs))
    if todo:
        units = [(u, [c.model_dump() for c in (configs[i] for i in u)]) for u in todo]
        # local theory units run in this process: each is one vmapped solve_batch call, multi-threaded by XLA
        local = (workers or os.cpu_count() or 1) if engine == "simulation" else 1
        for unit, datasets in map_units(units, engine, scheduler, local):
            for i, ds in zip(unit, datasets):
                _write_point(ds, paths[i])
            done += len(unit)
            if progress is not None:
                progress(done, len(configs))

    ds = assemble(spec, engine, [load(p) for p in paths], configs)
    final = out / "sweep.nc"
    tmp = out / "sweep.nc.tmp"
    ds.to_netcdf(tmp, engine="netcdf4")
    os.replace(tmp, final)
    return ds


def _coordinate(values: Iterable) -> np.ndarray:
    values = list(values)
    if any(isinstance(v, dict) for v in values):
        return np.array([json.dumps(v, sort_keys=True) for v in values], dtype=object)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    return np.asarray(values)


def _first_divergence(ds: xr.Dataset) -> tuple[int, int]:
    steps = np.atleast_1d(np.asarray(ds["diverged_step"].values, int))
    hit = steps[steps >= 0]
    return int(hit.size), int(hit.min()) if hit.size else -1


def assemble(spec: SweepSpec, engine: Engine, datasets: list[xr.Dataset], configs: list[Config]) -> xr.Dataset:
    """Point Datasets (grid order) -> the sweep Dataset of the module docstring (pure)."""
    values = spec.values()
    shape = tuple(len(v) for v in values.values())
    dims = tuple(values)
    n_steps = max(d.sizes["step"] for d in datasets)
    names = ["train_loss_mean", "test_loss_mean"] + (["train_loss_sem", "test_loss_sem"] if engine == "simulation" else [])
    curves = {n: np.full((len(datasets), n_steps), np.nan) for n in names}
    diverged = np.zeros(len(datasets), dtype=np.int64)
    first = np.full(len(datasets), -1, dtype=np.int64)
    for i, d in enumerate(datasets):
        for n in names:
            curves[n][i, : d.sizes["step"]] = d[n].values
        diverged[i], first[i] = _first_divergence(d)
    text = np.array([json.dumps(_resolved(c, engine), sort_keys=True) for c in configs], dtype=object)
    data = {n: (dims + ("step",), a.reshape(shape + (n_steps,))) for n, a in curves.items()}
    data["diverged"] = (dims, diverged.reshape(shape))
    data["diverged_step"] = (dims, first.reshape(shape))
    data["config"] = (dims, text.reshape(shape))
    coords = {name: _coordinate(v) for name, v in values.items()}
    coords["step"] = np.arange(n_steps)
    base = parse_config(spec.base)
    attrs = {
        "engine": engine,
        "sweep": spec.to_json(),
        "axes": json.dumps(list(dims)),
        "config": json.dumps(_resolved(base, engine) if engine == "theory" or base.dim else resolve(base)),
        "points_hashed_by": "sha256 of engine + resolved point config (deeplinear.sweep.point_key)",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
