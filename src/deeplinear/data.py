"""Data of the canonical model (docs/model.md, 'Data and target'): spectra, teacher, samples.

All functions are pure and take an explicit ``jax.random`` key. Inputs are ``x = z * sqrt(lambda)``
with ``z ~ N(0, I_D)``, i.e. ``x ~ N(0, Sigma)`` with ``Sigma = diag(lambda)``.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from .config import Config, Custom, Isotropic, PowerLaw, custom_arrays, spectrum_dim  # noqa: E402

__all__ = ["spectrum", "sample_teacher", "fixed_teacher", "sample_inputs", "sample_labels", "training_set"]


def spectrum(config: Config, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``lambda_k`` of Sigma and teacher variances ``b_k = E beta_star_k^2``, k = 1..D.

    Isotropic: lambda = b = 1. Power law: lambda_k = k^-a (top eigenvalue 1, so a fixed eta stays
    stable as D grows) and lambda_k b_k = c k^-(a s + 1) with c fixed by sum_k lambda_k b_k / D = 1,
    so E y^2 = 1 + sigma^2 for every D; D acts as a truncation of the spectrum at k = D.
    Custom: the two files, as given; D must be their length (ConfigError naming ``dim`` otherwise).
    """
    sp = config.spectrum
    if isinstance(sp, Custom):
        spectrum_dim(config, dim)  # refuses a D other than the file length
        lam, b = custom_arrays(sp)
        return lam.copy(), b.copy()
    if isinstance(sp, Isotropic):
        ones = np.ones(dim)
        return ones, ones
    if isinstance(sp, PowerLaw):
        k = np.arange(1, dim + 1, dtype=float)
        lam = k ** (-sp.a)
        power = k ** (-(sp.a * sp.s + 1.0))
        power *= dim / power.sum()
        return lam, power / lam
    raise TypeError(f"unknown spectrum {sp!r}")


def sample_teacher(key: jax.Array, target_var: jax.Array, fixed: bool = False) -> jax.Array:
    """beta_star_k ~ N(0, b_k), or +-sqrt(b_k) with random signs if ``fixed`` (config.Teacher)."""
    if fixed:
        return jnp.sqrt(target_var) * jax.random.rademacher(key, target_var.shape, dtype=target_var.dtype)
    return jnp.sqrt(target_var) * jax.random.normal(key, target_var.shape)


def fixed_teacher(config: Config) -> bool:
    """True where the spectrum asks for teacher amplitudes +-sqrt(b_k) (never for isotropic data)."""
    return getattr(config.spectrum, "teacher", "gaussian") == "fixed"


def sample_inputs(key: jax.Array, n: int, eig: jax.Array) -> jax.Array:
    """n samples x ~ N(0, diag(eig)), shape (n, D)."""
    return jax.random.normal(key, (n, eig.shape[0])) * jnp.sqrt(eig)


def sample_labels(key: jax.Array, x: jax.Array, beta_star: jax.Array, noise: float) -> jax.Array:
    """y = beta_star . x / sqrt(D) + sigma * eps."""
    dim = x.shape[-1]
    return x @ beta_star / jnp.sqrt(dim) + noise * jax.random.normal(key, x.shape[:-1])


def training_set(key: jax.Array, n: int, eig: jax.Array, beta_star: jax.Array, noise: float):
    """A fixed set (X, y) of n samples: used once for full-batch GD, or per step for online SGD."""
    k_x, k_eps = jax.random.split(key)
    x = sample_inputs(k_x, n, eig)
    return x, sample_labels(k_eps, x, beta_star, noise)
