"""CI-sized check of the DMFT against the finite-size simulator (validation/core.py is the full one).

D = 300, 16 fixed seeds, T = 30: the seed mean must follow the theory within loose bounds
(rms relative error < 15 %, |mean - theory| < 5 standard errors at every step where the theory loss
exceeds 1e-3). Deterministic: the simulator draws seed i from a fixed key.
"""

from __future__ import annotations

import pytest

from deeplinear.config import parse_config
from deeplinear.experiments import agreement
from deeplinear.simulation import simulate
from deeplinear.theory import solve

CONFIGS = {
    "rich_L1": dict(depth=1, alpha=2.0, nu=1.0, gamma0=1.0, eta=0.1),
    "lazy_L2_noise_small_alpha": dict(depth=2, alpha=0.5, nu=2.0, gamma0=0.05, eta=0.03, noise=0.5),
    "rich_L3": dict(depth=3, alpha=2.0, nu=1.0, gamma0=1.0, eta=0.03),
    "online_L2_noise": dict(depth=2, alpha=float("inf"), batch=1.0, nu=1.0, gamma0=1.0, eta=0.05, noise=0.5),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_theory_matches_simulation(name):
    config = parse_config(dict(steps=30, **CONFIGS[name]))
    theory = solve(config)
    sim = simulate(config, dim=300, seeds=16)
    assert int((sim["diverged_step"].values >= 0).sum()) == 0
    for loss, m in agreement(theory, sim).items():
        assert m["steps"] > 10, (loss, m)
        assert m["rms_rel"] < 0.15, (loss, m)
        assert m["max_z"] < 5.0, (loss, m)
