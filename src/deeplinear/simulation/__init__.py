"""The finite-size engine: exact GD / online SGD of the canonical model, rank-one steps, many seeds."""

from .engine import DIVERGENCE_FACTOR, seed_keys, simulate
from .network import Arch, Params, arch_of, gd_update, gradient, init_params, output, predictor
from .sharpness import initial_sharpness

__all__ = [
    "DIVERGENCE_FACTOR",
    "Arch",
    "Params",
    "arch_of",
    "gd_update",
    "gradient",
    "init_params",
    "initial_sharpness",
    "output",
    "predictor",
    "seed_keys",
    "simulate",
]
