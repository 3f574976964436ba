"""`deeplinear experiment power-law --quick` end to end through the CLI, and the lazy exponent's
long-horizon claim in closed form (validation/powerlaw_lazy.py, validation/long_horizon.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from deeplinear.cli import app
from deeplinear.experiments.power_law import fit_exponent, lazy_population_loss
from deeplinear.results import load


@pytest.mark.slow
def test_quick_power_law_end_to_end(tmp_path):
    out = tmp_path / "pl"
    res = CliRunner().invoke(app, ["experiment", "power-law", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "fitted exponent" in res.output
    for name in ("power_law.nc", "summary.json", "exponents.png", "curves_L1.png", "curves_L2.png", "long_horizon.png"):
        assert (out / name).stat().st_size > 0, name
    ds = load(out / "power_law.nc")
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["exponents"]) == ds["exponent"].size // 2
    assert summary["reference"]["0.5"] == {"lazy": 0.5, "rich": pytest.approx(2 / 3)}

    # the lazy limit (nu = inf, no initial output, population GD), T = 100, D = 256, window [10, 100]:
    # measured |p - s| = 0.026 (s = 0.5, L = 1), 0.043 (s = 1.5); the DMFT (32 bins) equals the closed
    # form Eq. 12.3 to 1.4e-3 relative
    for row in summary["lazy_limit"]:
        assert abs(row["theory"] - row["s"]) < 0.06, row
        assert row["max_rel_diff_theory_vs_closed_form"] < 5e-3, row
    # every point has a fitted exponent (nothing diverged at eta = 0.1 in this grid)
    assert np.all(np.isfinite(ds["exponent"].values)), ds["exponent"].values
    # theory and simulation (D = 256, 2 seeds) fit alike: measured max |difference| 0.07 (at gamma0 = 0.05,
    # s = 1.5, where the initial output dominates and finite-size effects are largest)
    diff = np.abs(ds["exponent"].sel(engine="theory") - ds["exponent"].sel(engine="simulation"))
    assert float(diff.max()) < 0.12, diff.values
    # the initial output (c0^2 = 400 at gamma0 = 0.05, nu = 1) decays like t^-(1 - 1/a): it flattens the
    # lazy-end curve of the easy task far below s = 1.5 (measured 0.42-0.45)
    lazy_end = ds["exponent"].sel(engine="theory", s=1.5, gamma0=0.05)
    assert float(lazy_end.max()) < 0.6, lazy_end.values

    # the long horizon (population recursion, T = 2000, D = 10^4): every curve has an exponent, and feature
    # learning steepens the hard task's (s = 0.5) curve
    long = ds["long_horizon_exponent"]
    assert np.all(np.isfinite(long.values)), long.values
    assert float(long.sel(s=0.5, gamma0=1.0)) > float(long.sel(s=0.5, gamma0=0.05)) + 0.03, long.values
    assert len(summary["long_horizon"]["exponents"]) == long.size

    # resume: a second call reads every point from OUT/points and writes the same numbers
    res = CliRunner().invoke(app, ["experiment", "power-law", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    again = load(out / "power_law.nc")
    np.testing.assert_array_equal(again["exponent"].values, ds["exponent"].values)


def test_lazy_exponent_matches_s_on_long_horizons():
    """Closed-form lazy population GD (the theory's exact lazy limit), eta (L+1) = 0.2, a = 1.5, fitted
    over t in [T/10, T]: with D = 10^5 modes and T = 10^4 the exponent is s to 0.004 (s = 0.5) and
    2e-4 (s = 1.5); at D = 1000 the truncation steepens the s = 0.5 curve to 0.647 at the same T."""
    T = 10_000
    t = np.geomspace(T / 10, T, 61)

    def p(s, dim):
        return fit_exponent(t, lazy_population_loss(1.5, s, dim, 0.1, 1, t), T / 10, T)[0]

    assert abs(p(0.5, 100_000) - 0.5) < 0.01
    assert abs(p(1.5, 100_000) - 1.5) < 0.01
    assert p(0.5, 1000) > 0.6  # the truncation at D is what the fit sees at D = 1000


def test_fit_exponent_is_exact_on_a_power_law_and_refuses_bad_windows():
    t = np.arange(0, 101)
    with np.errstate(divide="ignore"):
        loss = 3.0 * t**-0.7
    p, rms = fit_exponent(t, loss, 10, 100)
    assert p == pytest.approx(0.7, abs=1e-12) and rms < 1e-12
    loss[50] = np.nan  # a diverged curve has no exponent
    assert np.isnan(fit_exponent(t, loss, 10, 100)[0])


@pytest.mark.slow
def test_points_computed_in_worker_processes_equal_those_computed_here(tmp_path):
    """run_power_law(workers=2) sends every missing point (theory and simulation) to spawned processes
    (sweep.map_units); the assembled numbers equal a serial run's."""
    import dataclasses

    from deeplinear.experiments.power_law import QUICK, run_power_law

    tiny = dataclasses.replace(QUICK, gamma0s=(1.0,), depths=(1, 2), batches=(1.0,), alphas=(), sources=(0.5,),
                               steps=20, dim=64, bins=8, long_steps=200, long_dim=1000)
    calls = []
    serial = run_power_law(tiny, tmp_path / "serial")
    parallel = run_power_law(tiny, tmp_path / "parallel", workers=2, progress=lambda d, n: calls.append((d, n)))
    assert calls[-1][0] == calls[-1][1]  # the progress count reaches the total
    for var in ("test_loss", "train_loss", "exponent", "lazy_limit_exponent"):
        np.testing.assert_allclose(parallel[var].values, serial[var].values, rtol=1e-12, err_msg=var)
    assert len(list((tmp_path / "parallel" / "points").glob("*.nc"))) == 2 * 2 + 2  # 2 cells x 2 engines + 2 lazy
