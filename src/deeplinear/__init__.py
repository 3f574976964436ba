"""deeplinear: theory (DMFT) and exact simulation of deep linear networks trained by gradient descent.

    import deeplinear as dl
    from deeplinear.theory import solve
    cfg = dl.parse_config({"depth": 2, "nu": 1.0, "alpha": 2.0, "eta": 0.1, "steps": 100})
    theory = solve(cfg)                            # xarray.Dataset over `step`
    sim = dl.simulate(cfg, dim=500, seeds=8)       # adds `seed`: per-seed curves, mean, sem

The engines import JAX with float64 switched on (``jax_enable_x64``) before any array is made; they
are loaded on first use so that the command line starts quickly.
"""

from importlib import import_module

from .config import Config, ConfigError, load_config, parse_config, resolve

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "load", "load_config", "parse_config", "resolve", "save", "simulate", "to_json"]

_LAZY = {"simulate": ".simulation", "save": ".results", "load": ".results", "to_json": ".results"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'deeplinear' has no attribute {name!r}")
