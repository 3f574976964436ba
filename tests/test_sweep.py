"""Sweeps (resume, dask), sweep-file errors, transfer analysis and the autodiff optimal eta.

Tiny sizes; one theory shape (depth 1, T = 10) so that jit compilations are shared across tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from deeplinear.config import ConfigError, parse_config
from deeplinear.experiments.transfer import fit_exponent, optimum, parabola_vertex, transfer_summary
from deeplinear.experiments.transfer_plot import plot_transfer
from deeplinear.sweep import run_sweep, work_units
from deeplinear.sweep_spec import grid_points, parse_sweep

T = 10
SPEC = {
    "base": {"depth": 1, "steps": T, "alpha": 2.0, "gamma0": 1.0},
    "axes": {"parameterization": ["mup", "ntk"], "nu": [0.5, 2.0], "eta": {"log2": [0.05, 1.6]}},
    "chunk": 4,
}


class Killed(Exception):
    pass


def _bytes(path) -> bytes:
    return path.read_bytes()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    ds = run_sweep(SPEC, engine="theory", out=out)
    return out, ds


def test_sweep_layout(uninterrupted):
    _, ds = uninterrupted
    assert ds["test_loss_mean"].dims == ("parameterization", "nu", "eta", "step")
    assert list(ds["eta"].values) == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
    # the largest learning rates diverge: kept, flagged, with the step
    assert (ds["diverged"].sel(eta=1.6) == 1).all() and (ds["diverged_step"].sel(eta=1.6) > 0).all()
    assert (ds["diverged"].sel(eta=0.05) == 0).all() and (ds["diverged_step"].sel(eta=0.05) == -1).all()
    assert ds.attrs["engine"] == "theory" and "config" in ds and ds.attrs["config"]


def test_killed_sweep_resumes_to_identical_file(uninterrupted, tmp_path):
    full_dir, _ = uninterrupted

    def kill_after_two_chunks(done, total):
        if done >= 8:
            raise Killed

    with pytest.raises(Killed):
        run_sweep(SPEC, engine="theory", out=tmp_path, progress=kill_after_two_chunks)
    assert len(list((tmp_path / "points").glob("*.nc"))) == 8
    assert not (tmp_path / "sweep.nc").exists()
    seen = []
    run_sweep(SPEC, engine="theory", out=tmp_path, progress=lambda d, t: seen.append(d))
    assert seen == [8, 12, 16, 20, 24]  # only the missing 16 points computed, chunk by chunk
    assert _bytes(tmp_path / "sweep.nc") == _bytes(full_dir / "sweep.nc")


def test_dask_cluster_equals_local(uninterrupted, tmp_path):
    distributed = pytest.importorskip("distributed")
    full_dir, _ = uninterrupted
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cl:
        run_sweep(SPEC, engine="theory", scheduler=cl.scheduler_address, out=tmp_path)
    assert _bytes(tmp_path / "sweep.nc") == _bytes(full_dir / "sweep.nc")


def test_simulation_sweep_resumes(tmp_path):
    # beta_res does nothing in a plain net: two distinct points (keys, files) sharing one jit compilation
    spec = {"base": {"depth": 1, "steps": 5, "alpha": 2.0, "dim": 6, "seeds": 2, "eta": 0.1}, "axes": {"beta_res": [1.0, 2.0]}}

    def kill(done, total):
        if done >= 1:
            raise Killed

    with pytest.raises(Killed):
        run_sweep(spec, engine="simulation", out=tmp_path / "a", workers=1, progress=kill)
    a = run_sweep(spec, engine="simulation", out=tmp_path / "a", workers=1)
    run_sweep(spec, engine="simulation", out=tmp_path / "b", workers=1)
    assert _bytes(tmp_path / "a" / "sweep.nc") == _bytes(tmp_path / "b" / "sweep.nc")
    assert set(a.data_vars) >= {"test_loss_mean", "test_loss_sem", "diverged", "diverged_step"}
    assert a["test_loss_mean"].dims == ("beta_res", "step")


def test_theory_units_batch_vmappable_fields_only():
    spec = parse_sweep({"base": {"steps": T}, "axes": {"depth": [1, 2], "nu": [1.0, 2.0], "eta": [0.1, 0.2, 0.3]}, "chunk": 4})
    configs = [c for _, c in grid_points(spec)]
    units = work_units(configs, "theory", spec.chunk)
    assert [len(u) for u in units] == [4, 2, 4, 2]
    assert all(len({configs[i].depth for i in u}) == 1 for u in units)


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"axes": {"etta": [0.1]}}, ["axes.etta", "unknown config field"]),
        ({"axes": {"eta": [0.1, -1.0]}}, ["eta", "greater than 0"]),
        ({"axes": {"eta": {"logspace": [0.1, 1.0]}}}, ["axes.eta.logspace"]),
        ({"axes": {"eta": {"log2": [1.0, 0.1]}}}, ["axes.eta.log2", "stop must be >= start"]),
        ({"axes": {"eta": {"geomspace": [0.1, 1.0, 3]}}}, ["axes.eta", "allowed"]),
        ({"axes": {"eta": []}}, ["axes.eta", "at least one"]),
        ({"axes": {"eta": [0.1, 0.1]}}, ["axes.eta", "repeated"]),
        ({"base": {"depth": 0}}, ["base", "depth"]),
        ({"bse": {}}, ["bse", "unknown field"]),
        ({"base": {"alpha": float("inf")}, "axes": {"eta": [0.1]}}, ["batch"]),
    ],
)
def test_bad_sweep_files_name_the_field(bad, words):
    with pytest.raises(ConfigError) as info:
        parse_sweep(bad)
    for w in words:
        assert w in str(info.value)


def test_simulation_sweep_needs_dim(tmp_path):
    with pytest.raises(ConfigError, match="dim"):
        run_sweep({"axes": {"eta": [0.1]}}, engine="simulation", out=tmp_path)


def test_ranges():
    s = parse_sweep({"axes": {"eta": {"log2": [0.004, 1.1]}, "nu": {"logspace": [0.25, 16, 7]}, "noise": {"linspace": [0, 1, 3]}}})
    v = s.values()
    assert v["eta"][0] == 0.004 and v["eta"][-1] == pytest.approx(1.024) and len(v["eta"]) == 9
    assert np.allclose(v["nu"], [0.25, 0.5, 1, 2, 4, 8, 16])
    assert v["noise"] == [0.0, 0.5, 1.0]


def _synthetic(opt_per_width: dict[float, float], diverge_above: float = 0.5) -> xr.Dataset:
    """Loss after T = 0.1 exp((log eta - log eta*)^2) on a log2 eta grid; NaN and flagged above a limit."""
    eta = 0.01 * 2.0 ** np.arange(8)
    widths = list(opt_per_width)
    loss = np.array([[0.1 * math.exp(math.log(e / opt_per_width[w]) ** 2) for e in eta] for w in widths])
    div = (eta[None, :] > diverge_above) * np.ones((len(widths), 1), int)
    loss = np.where(div > 0, np.nan, loss)
    curves = np.stack([np.full_like(loss, 1.0), loss], axis=-1)
    return xr.Dataset(
        {"test_loss_mean": (("nu", "eta", "step"), curves), "train_loss_mean": (("nu", "eta", "step"), curves),
         "diverged": (("nu", "eta"), div), "diverged_step": (("nu", "eta"), np.where(div > 0, 1, -1))},
        coords={"nu": widths, "eta": eta, "step": [0, 1]},
    )


def test_transfer_finds_optimum_and_flags_edges():
    # eta* = 0.09 * nu^-0.5 inside the grid; log loss is quadratic in log eta: the parabola is exact
    ds = _synthetic({1.0: 0.09, 4.0: 0.045, 16.0: 0.0225})
    opt = optimum(ds)
    assert np.allclose(opt["eta_opt"].values, [0.09, 0.045, 0.0225])
    assert (opt["edge"].values == 0).all()
    assert (opt["eta_lo"].values <= opt["eta_opt"].values).all() and (opt["eta_opt"].values <= opt["eta_hi"].values).all()
    assert (opt["n_diverged"].values == 2).all()  # 0.64 and 1.28 left out
    fit = fit_exponent(opt)
    assert float(fit["exponent"]) == pytest.approx(-0.5)
    # optimum below the grid, and optimum beyond the last stable eta: both flagged as edges
    edges = optimum(_synthetic({1.0: 0.001, 2.0: 3.0}))
    assert list(edges["edge"].values) == [-1, 1]
    assert list(edges["eta_grid"].values) == [0.01, 0.32]


def test_transfer_leaves_an_infinite_width_out_of_the_fit(tmp_path):
    # depth .inf on a depth axis: its optimum is reported ("inf" in the summary, a line in the figure), not fitted
    ds = _synthetic({1.0: 0.09, 4.0: 0.045, 16.0: 0.0225, math.inf: 0.03})
    fit = fit_exponent(optimum(ds))
    assert float(fit["exponent"]) == pytest.approx(-0.5) and int(fit["n_fit"]) == 3
    (row,) = transfer_summary(ds)["rows"]
    assert [o["nu"] for o in row["optima"]] == [1.0, 4.0, 16.0, "inf"]
    assert row["optima"][-1]["eta_opt"] == pytest.approx(0.03)
    assert plot_transfer(ds, tmp_path / "t.png").stat().st_size > 0


def test_parabola_vertex():
    x = np.array([0.0, 1.0, 3.0])
    assert parabola_vertex(x, (x - 1.3) ** 2) == pytest.approx(1.3)
    assert math.isnan(parabola_vertex(x, -((x - 1.3) ** 2)))


def test_optimal_eta_matches_grid():
    from deeplinear.theory import solve
    from deeplinear.theory.optimal import loss_derivatives, optimal_eta

    cfg = parse_config({**SPEC["base"], "nu": 1.0})
    res = optimal_eta(cfg)
    assert not res.at_edge and abs(res.grad) < 1e-3 and res.bracket[1] / res.bracket[0] < 1 + 2e-4
    grid = np.geomspace(res.bracket[0] / 1.5, res.bracket[1] * 1.5, 41)
    losses = [float(solve(cfg.replace(eta=float(e)))["test_loss_mean"][-1]) for e in grid]
    best = grid[int(np.argmin(losses))]
    assert abs(res.eta / best - 1) < 0.02  # grid spacing 2 %
    assert res.loss <= min(losses) + 1e-12
    # the derivative is that of the solver: a central difference agrees
    h = 1e-5
    lp = float(solve(cfg.replace(eta=res.eta * math.exp(h)))["test_loss_mean"][-1])
    lm = float(solve(cfg.replace(eta=res.eta * math.exp(-h)))["test_loss_mean"][-1])
    _, g = loss_derivatives(cfg, 0.1)
    lp1 = float(solve(cfg.replace(eta=0.1 * math.exp(h)))["test_loss_mean"][-1])
    lm1 = float(solve(cfg.replace(eta=0.1 * math.exp(-h)))["test_loss_mean"][-1])
    assert g == pytest.approx((lp1 - lm1) / (2 * h), rel=1e-6)
    assert abs((lp - lm) / (2 * h)) < 1e-3


def test_theory_sweep_refuses_what_the_theory_does_not_cover(tmp_path):
    # a residual net at this depth and horizon needs more memory than the solver allows (O(L^2 T^2))
    with pytest.raises(ConfigError, match="^steps:"):
        run_sweep(
            {"base": {"residual": True, "depth": 16, "steps": 1500}, "axes": {"eta": [0.1]}}, engine="theory", out=tmp_path
        )
    assert not list((tmp_path / "points").glob("*.nc"))
