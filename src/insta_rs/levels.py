"""Noise levels: level ``l = 1..T`` has ``sigma_l = sqrt(l) * sigma0`` (cascading smoothing, Sec. 3.1): the one
place that formula is written, for training and test time alike.

Free of torch, so that the workflow's rule files and the table scripts import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def level_sigma(level: int | np.ndarray, sigma0: float) -> np.floating | np.ndarray:
    """``sigma_l = sqrt(l) * sigma0`` for a level or an array of levels."""
    return np.sqrt(level) * sigma0


def sigma_levels(sigma0: float, n_levels: int) -> np.ndarray:
    """:func:`level_sigma` of the levels ``1..n_levels`` (index 0 holds level 1)."""
    return level_sigma(np.arange(1, n_levels + 1), sigma0)


@dataclass(frozen=True)
class NoiseLevels:
    """The levels ``l = 1..n_levels`` of ``sigma_l = sqrt(l) * sigma0``."""

    sigma0: float
    n_levels: int
