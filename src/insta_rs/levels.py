"""Noise levels: level ``l = 1..T`` has ``sigma_l = sqrt(l) * sigma0`` (cascading smoothing, Sec. 3.1).

Free of torch, so that the workflow's rule files and the table scripts import it cheaply.
"""

from __future__ import annotations

import numpy as np


def sigma_levels(sigma0: float, n_levels: int) -> np.ndarray:
    """``sigma_l = sqrt(l) * sigma0`` for ``l = 1..n_levels`` (index 0 holds level 1)."""
    return np.sqrt(np.arange(1, n_levels + 1)) * sigma0


def level_to_sigma(level: int, sigma0: float) -> float:
    """Standard deviation of level ``level``: ``sqrt(level) * sigma0``."""
    return float(np.sqrt(level) * sigma0)
