"""Configuration: schema, clear errors naming the field and the range, NTK mapping, files."""

import json
import math

import pytest

from deeplinear.config import ConfigError, load_config, parse_config, resolve, sizes


@pytest.mark.parametrize(
    "fields, field, allowed",
    [
        ({"depth": 0}, "depth", "integer from 1"),
        ({"depth": 2.5}, "depth", "integer from 1"),
        ({"nu": -1}, "nu", "(0, 1e6]"),
        ({"alpha": 0}, "alpha", "(0, 1e6]"),
        ({"eta": 0}, "eta", "(0, 1e3]"),
        ({"eta": -0.1}, "eta", "(0, 1e3]"),
        ({"eta": "abc"}, "eta", "number"),
        ({"gamma0": float("nan")}, "gamma0", "(0, 1e6]"),
        ({"noise": -0.5}, "noise", "[0, 1e6]"),
        ({"steps": 0}, "steps", "integer from 1"),
        ({"steps": 10**12}, "steps", "10^6"),
        ({"dim": 1}, "dim", "integer from 2"),
        ({"alpha": float("inf")}, "batch", "online"),
        ({"batch": 1.0}, "batch", "online"),
        ({"parameterization": "sp"}, "parameterization", "'mup' or 'ntk'"),
        ({"learning_rate": 0.1}, "learning_rate", "allowed fields"),
        ({"spectrum": {"kind": "powerlaw", "a": 0.5, "s": 1.0}}, "spectrum", "a: > 1"),
        ({"spectrum": {"kind": "unknown"}}, "spectrum", "powerlaw"),
        ({"depth": True}, "depth", "not true"),
        ({"gamma0": 1e300}, "gamma0", "1e6"),
        ({"spectrum": {"kind": "isotropic", "a": 1}}, "spectrum.a", "kind, a, s"),
    ],
)
def test_bad_config_names_field_and_range(fields, field, allowed):
    with pytest.raises(ConfigError) as err:
        parse_config(fields)
    msg = str(err.value)
    assert field in msg and allowed in msg
    assert "Traceback" not in msg


def test_defaults_and_ntk_mapping():
    cfg = parse_config({})
    assert (cfg.depth, cfg.nu, cfg.alpha, cfg.eta, cfg.steps) == (2, 1.0, 2.0, 0.1, 200)
    ntk = parse_config(parameterization="ntk", gamma0=2.0, nu=4.0)
    assert ntk.gamma0_effective == pytest.approx(1.0)
    r = resolve(ntk, dim=100)
    assert r["gamma0"] == pytest.approx(1.0) and r["gamma"] == 2.0
    assert (r["D"], r["N"], r["P"]) == (100, 400, 200)
    online = parse_config(alpha=float("inf"), batch=0.5)
    assert online.online and sizes(online, 100) == {"D": 100, "N": 100, "B": 50}
    assert resolve(online)["alpha"] == "inf"  # JSON-safe


def test_residual_branch_scale():
    assert parse_config(depth=4).branch_scale == (0.0, 1.0)
    assert parse_config(depth=4, residual=True, beta_res=2.0).branch_scale == (1.0, 1.0)


def test_load_yaml_and_json(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("depth: 3\nnu: .inf\nalpha: 4\neta: 0.05\n")
    cfg = load_config(y)
    assert cfg.depth == 3 and math.isinf(cfg.nu)
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"alpha": "inf", "batch": 2.0, "dim": 64}))
    cfg = load_config(j, seeds=3)
    assert cfg.online and cfg.seeds == 3 and cfg.dim == 64
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("depth: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(lst)


def test_simulation_needs_finite_sizes():
    with pytest.raises(ConfigError, match="dim"):
        sizes(parse_config({}))
    with pytest.raises(ConfigError, match="nu"):
        sizes(parse_config(nu=float("inf")), 100)
