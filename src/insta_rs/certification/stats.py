"""Statistics of Cohen et al.'s certification: Clopper-Pearson bounds, radii, PREDICT's test.

All functions accept scalars or NumPy arrays and are vectorized.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, binomtest, norm

ArrayLike = float | int | np.ndarray


def pA_lower_bound(nA: ArrayLike, n: ArrayLike, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on pA from nA successes in n trials.

    ``beta.ppf(alpha, nA, n - nA + 1)``, and 0 when ``nA == 0``.
    """
    nA = np.asarray(nA, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(alpha, nA, n - nA + 1)
    return np.where(nA > 0, bound, 0.0)


def p_upper_bound(count: ArrayLike, n: ArrayLike, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson upper bound: ``beta.ppf(1 - alpha, count + 1, n - count)``, 1 at count == n."""
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(1 - alpha, count + 1, n - count)
    return np.where(count < n, bound, 1.0)


def cohen_radius(sigma: ArrayLike, pA_lower: ArrayLike) -> np.ndarray:
    """Certified L2 radius ``sigma * PhiInv(pA_lower)`` (Cohen et al. Thm. 1); 0 where the model abstains (pA_lower < 1/2)."""
    pA_lower = np.asarray(pA_lower, dtype=float)
    radius = np.asarray(sigma, dtype=float) * norm.ppf(np.clip(pA_lower, 0.5, 1.0))
    return np.where(pA_lower >= 0.5, radius, 0.0)


def max_certifiable_p(alpha: float, n: int) -> float:
    """The largest pA_lower certification can reach with n samples: ``alpha ** (1 / n)`` (nA = n)."""
    return float(alpha ** (1.0 / n))


def phi_inv_clamped(p: ArrayLike, p_max: float) -> np.ndarray:
    """``PhiInv(p)`` with p clamped to ``[1 - p_max, p_max]`` so that the result is finite (Eq. 4 guard)."""
    return norm.ppf(np.clip(np.asarray(p, dtype=float), 1.0 - p_max, p_max))


def predict_pvalue(nA: int, nB: int) -> float:
    """Two-sided binomial test p-value of nA against nB at 1/2 (Cohen et al. PREDICT)."""
    if nA + nB == 0:
        return 1.0
    return float(binomtest(int(nA), int(nA + nB), 0.5).pvalue)
