"""deeplinear: theory (DMFT) and exact simulation of deep linear networks trained by gradient descent.

    import deeplinear as dl
    cfg = dl.parse_config({"depth": 2, "nu": 1.0, "alpha": 2.0, "eta": 0.1, "steps": 100})
    sim = dl.simulate(cfg, dim=500, seeds=8)      # xarray.Dataset, dims (seed, step)
"""

import jax

jax.config.update("jax_enable_x64", True)  # float64 everywhere, switched on before any array exists

from .config import Config, ConfigError, load_config, parse_config, resolve  # noqa: E402
from .results import load, save, to_json  # noqa: E402
from .simulation import simulate  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "load", "load_config", "parse_config", "resolve", "save", "simulate", "to_json"]
