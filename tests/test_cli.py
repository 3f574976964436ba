"""The command line as a user meets it: files written, JSON on stdout, exit code 2 on bad input."""

import json

import pytest
from typer.testing import CliRunner

from deeplinear.cli import app

runner = CliRunner()


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("depth: 2\nnu: 1.0\nalpha: 2.0\neta: 0.1\nsteps: 10\ndim: 40\nseeds: 3\n")
    return path


def test_simulate_writes_files_and_json(cfg_file, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["simulate", str(cfg_file), "--out", str(out), "--json", "--seeds", "2"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["engine"] == "simulation"
    assert data["config"]["D"] == 40 and data["config"]["N"] == 40 and data["config"]["P"] == 80
    assert data["config"]["seeds"] == 2
    assert len(data["test_loss"]["mean"]) == 11 and len(data["test_loss"]["sem"]) == 11
    for name in ("result.nc", "result.json", "loss.png"):
        assert (out / name).stat().st_size > 0


@pytest.mark.parametrize(
    "text, needle",
    [("depth: 0\n", "depth"), ("eta: -1\n", "eta"), ("alpha: .inf\n", "batch"), ("wat: 1\n", "wat")],
)
def test_bad_input_exit_code_2(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text + "dim: 20\n")
    res = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert needle in res.output and "Traceback" not in res.output


def test_missing_file_and_missing_dim(tmp_path):
    res = runner.invoke(app, ["simulate", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "not found" in res.output
    path = tmp_path / "nodim.yaml"
    path.write_text("steps: 5\n")
    res = runner.invoke(app, ["simulate", str(path)])
    assert res.exit_code == 2 and "dim" in res.output


def test_compare_writes_agreement(cfg_file, tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(app, ["compare", str(cfg_file), "--dim", "60", "--seeds", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "agreement.json").read_text())
    assert set(metrics) == {"train_loss", "test_loss"}
    assert metrics["test_loss"]["steps"] > 0
    for name in ("loss.png", "theory.nc", "simulation.json"):
        assert (out / name).exists()


def test_all_seeds_diverged_is_a_result(tmp_path):
    path = tmp_path / "hot.yaml"
    path.write_text("eta: 1.0\nsteps: 20\ndim: 40\nseeds: 2\n")
    out = tmp_path / "hot"
    res = runner.invoke(app, ["simulate", str(path), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[0])
    assert data["diverged"]["count"] == 2 and all(s > 0 for s in data["diverged"]["steps"])
    assert (out / "loss.png").stat().st_size > 0


def test_unwritable_out_and_markup_in_values(tmp_path, cfg_file):
    res = runner.invoke(app, ["simulate", str(cfg_file), "--out", "/proc/no/such"])
    assert res.exit_code == 2 and "--out" in res.output
    path = tmp_path / "m.yaml"
    path.write_text("parameterization: '[/x]'\n")
    res = runner.invoke(app, ["simulate", str(path)])
    assert res.exit_code == 2 and "parameterization" in res.output
