"""`deeplinear experiment depth-transfer --quick` end to end through the CLI (about a minute)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deeplinear.cli import app
from deeplinear.results import load

pytestmark = pytest.mark.slow


def test_quick_depth_transfer_end_to_end(tmp_path):
    out = tmp_path / "dt"
    res = CliRunner().invoke(app, ["experiment", "depth-transfer", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    archs = ("residual_sqrt", "residual_const", "plain")
    assert set(summary["sweeps"]) >= {f"{e}_{a}" for e in ("theory", "simulation") for a in archs}, summary
    for name, info in summary["sweeps"].items():
        assert (out / name / "sweep.nc").exists() and (out / f"{name}.png").stat().st_size > 0
        assert info["width_dim"] == "depth"
        assert load(out / name / "sweep.nc").sizes["depth"] >= 2

    def optima(name):
        (row,) = summary["sweeps"][name]["rows"]
        return {o["depth"]: o for o in row["optima"] if o["depth"] != "inf"}

    # theory: with 1/sqrt(L) branches the optimum is interior at every depth and moves less from
    # depth 2 to 8 than in the plain net (the depth-muP claim, measured here, not assumed)
    sqrt_opt, plain_opt = optima("theory_residual_sqrt"), optima("theory_plain")
    assert all(o["edge"] == 0 for o in sqrt_opt.values()), sqrt_opt
    move = {k: opt[2]["eta_opt"] / opt[8]["eta_opt"] for k, opt in (("sqrt", sqrt_opt), ("plain", plain_opt))}
    assert 1 / 3 < move["sqrt"] < 3 and move["plain"] > move["sqrt"], move
    # constant branches at depth 8: the initial output is (1 + 1/2)^7 / (gamma0^2 nu) ~ 17 times larger,
    # and most learning rates of the grid diverge
    const_opt = optima("theory_residual_const")
    assert const_opt[8]["n_diverged"] > sqrt_opt[8]["n_diverged"]
