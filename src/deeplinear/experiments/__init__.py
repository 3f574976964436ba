"""Recipes over configs and engines (never a second implementation of either)."""

from .compare import agreement, compare

__all__ = ["agreement", "compare"]
