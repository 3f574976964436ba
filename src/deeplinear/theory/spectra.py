"""Input-space types of the data spectrum: the D-space mixture of docs/theory.md, Eq. (4.10), Sec. 12.

The theory of an anisotropic spectrum is a deterministic equivalent of the D modes k = 1..D that
define it (each of weight 1/D, exactly the 1/D of the D-space averages u.u/D, v^T Sigma v/D): D is
needed to define the spectrum (its truncation), nothing is sampled. Modes are grouped into log-spaced
bins of their rank (largest eigenvalue first); a bin is one type that keeps the bin's trace and
target power (Eq. 12.2).
"""

from __future__ import annotations

import numpy as np

from ..config import Config, ConfigError, Isotropic, PowerLaw, spectrum_dim
from ..data import spectrum
from ._core import Types

__all__ = ["DEFAULT_BINS", "theory_dim", "exact_types", "rank_bins", "binned_types", "spectrum_types"]

#: input-space types for a spectrum of more modes than this; the cost grows linearly with it
#: (docs/theory.md, Sec. 12.3: measured binning error <= 4e-4 relative for D <= 2000, 2e-3 at D = 2e5)
DEFAULT_BINS = 64


def theory_dim(config: Config) -> int | None:
    """D that defines the spectrum: None for isotropic data (one type, no D); ``config.dim`` for a power
    law (a ConfigError naming dim when it is missing); the file length for a custom spectrum."""
    if isinstance(config.spectrum, Isotropic):
        return None
    dim = spectrum_dim(config)
    if dim is None and isinstance(config.spectrum, PowerLaw):
        raise ConfigError(
            "dim: the theory of a power-law spectrum needs D, the number of modes k = 1..D that define it "
            "(lambda_k = k^-a truncated at k = D, each mode of weight 1/D); allowed: an integer from 2 to 10^6"
        )
    return dim


def exact_types(lam: np.ndarray, b: np.ndarray) -> Types:
    """One type per mode, weight 1/D: the D-space averages (1/D) sum_k exactly (Eq. 4.10)."""
    lam, b = np.asarray(lam, float), np.asarray(b, float)
    return Types(lam=lam, b=b, w=np.full(lam.shape, 1.0 / lam.size))


def rank_bins(dim: int, bins: int) -> np.ndarray:
    """Edges 0 = e_0 < ... < e_m = D of min(bins, D) bins of ranks, log-spaced: bin i holds ranks
    e_i..e_{i+1}-1 (0-based). Each edge splits the remaining log-range evenly over the remaining bins
    and a bin has at least one mode, so the top modes are single types and no bin is empty."""
    m = min(bins, dim)
    edges = [1.0]  # 1-based ranks: bin i is [edges[i], edges[i+1])
    for i in range(m):
        left = m - i
        step = ((dim + 1) / edges[-1]) ** (1.0 / left)
        edges.append(max(edges[-1] + 1, min(float(dim + 1 - (left - 1)), round(edges[-1] * step))))
    return np.array(edges, dtype=int) - 1


def binned_types(lam: np.ndarray, b: np.ndarray, bins: int) -> Types:
    """Log-spaced bins of the modes ranked by eigenvalue, one type each (docs/theory.md, Eq. 12.2).

    Every D-space average carries at least one factor lambda, so a bin B enters through the two
    measures of Eq. (12.1): its trace, sum_B lam, and its target power, sum_B lam b. The type keeps
    both and sits at the trace-weighted mean eigenvalue:

        lam = sum_B lam^2 / sum_B lam,    w = sum_B lam / (D lam),    b = sum_B lam b / sum_B lam.

    (Then w is close to, not equal to, the bin's share of modes.) ``bins >= D`` gives the exact types.
    """
    lam, b = np.asarray(lam, float), np.asarray(b, float)
    dim = lam.size
    if bins >= dim:
        return exact_types(lam, b)
    order = np.argsort(-lam, kind="stable")
    lam, b = lam[order], b[order]
    starts = rank_bins(dim, bins)[:-1]
    trace = np.add.reduceat(lam, starts)
    node = np.add.reduceat(lam * lam, starts) / trace
    return Types(lam=node, b=np.add.reduceat(lam * b, starts) / trace, w=trace / (dim * node))


def spectrum_types(config: Config, bins: int = DEFAULT_BINS) -> Types:
    """The input-space types of a config's spectrum (Eq. 4.10): isotropic is one type (lam = b = w = 1);
    power-law and custom spectra are their D modes (``theory_dim``), binned when D > ``bins``."""
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"bins: must be an integer >= 1 (got {bins!r})")
    dim = theory_dim(config)
    if dim is None:
        one = np.ones(1)
        return Types(lam=one, b=one, w=one)
    return binned_types(*spectrum(config, dim), bins)
