"""`deeplinear experiment width-transfer --quick` end to end through the CLI (about a minute).

The quick sizes (deeplinear.experiments.width_transfer) are chosen so that each width's optimal eta
lies inside the grid, in theory and in simulation; this checks it, and that the data and figures
are written.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from deeplinear.cli import app
from deeplinear.experiments.transfer import optimum
from deeplinear.results import load

pytestmark = pytest.mark.slow


def test_quick_width_transfer_end_to_end(tmp_path):
    out = tmp_path / "wt"
    res = CliRunner().invoke(app, ["experiment", "width-transfer", "--quick", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["sweeps"]) == {"theory_alpha4", "simulation_alpha4"}, summary
    assert not summary["skipped"]
    for name, info in summary["sweeps"].items():
        assert (out / name / "sweep.nc").exists() and (out / f"{name}.png").stat().st_size > 0
        ds = load(out / name / "sweep.nc")
        assert dict(ds.sizes) == {"parameterization": 2, "depth": 1, "nu": 2, "eta": 6, "step": 21}
        opt = optimum(ds)
        edge = opt["edge"].values
        assert (edge == 0).all(), f"{name}: optimum at the grid edge: {opt['eta_grid'].values.tolist()}"
        eta = opt["eta_opt"].values
        assert ((eta > ds["eta"].values.min()) & (eta < ds["eta"].values.max())).all()
        assert all(o["edge"] == 0 for row in info["rows"] for o in row["optima"])
