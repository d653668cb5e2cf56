"""Noise-level search: Algorithm 1 (instance-wise multiple-start FGSS), Algorithm 3 (uniform
level) and the grid-search baseline, over levels ``l = 1..T`` with ``sigma_l = sqrt(l) * sigma0``.

The searches are written once, against a criterion ``evaluate(units, levels) -> values`` over
"units" (test examples for Algorithm 1, the single data set for Algorithm 3). Every unit moves in
lockstep, so one call evaluates the next level of all active units in one batch. Values are cached:
a level is evaluated at most once per unit, and the number of distinct levels evaluated is the
paper's search-step count (ASS is its mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import phi_inv_clamped
from insta_rs.levels import sigma_levels

Criterion = Callable[[np.ndarray, np.ndarray], np.ndarray]
DEFAULT_STARTS = ((1, 1), (16, -1))


@dataclass(frozen=True)
class RadiusEstimate:
    """How ``CR_hat`` (Eq. 4) is estimated: the soft scores of ``n_samples`` noise vectors (the paper's m) from the
    SEARCH stream of ``seed``, the same vectors at every sigma of an example with ``common_noise``, p clamped to
    ``[1 - p_max, p_max]``."""

    n_samples: int
    p_max: float
    seed: int
    common_noise: bool = True


@dataclass
class SearchResult:
    """Chosen level per unit, and every evaluated criterion value (NaN where not evaluated)."""

    level: np.ndarray   # [U], 1-based
    values: np.ndarray  # [U, T]

    @property
    def n_levels_evaluated(self) -> np.ndarray:
        """Distinct levels evaluated per unit (the paper's search steps)."""
        return np.sum(~np.isnan(self.values), axis=1)


class _Cache:
    """Criterion values per (unit, level); evaluates only what is missing, in one call."""

    def __init__(self, evaluate: Criterion, n_units: int, n_levels: int):
        self.evaluate = evaluate
        self.values = np.full((n_units, n_levels), np.nan)

    def get(self, units: np.ndarray, levels: np.ndarray) -> np.ndarray:
        missing = np.isnan(self.values[units, levels - 1])
        if missing.any():
            self.values[units[missing], levels[missing] - 1] = self.evaluate(units[missing], levels[missing])
        return self.values[units, levels - 1]


def fgss(evaluate: Criterion, n_units: int, n_levels: int,
         starts: Sequence[tuple[int, int]] = DEFAULT_STARTS) -> SearchResult:
    """Multiple-start fast greedy step search (Algorithms 1 and 3).

    From each start ``(l, s)`` move to ``l + s`` while the criterion does not decrease (ties move
    on) and ``1 <= l + s <= T``; the end point of each start is a candidate; the chosen level is
    the candidate with the largest value (the smallest level on ties).
    """
    for level, step in starts:
        if not (1 <= level <= n_levels and step in (-1, 1)):
            raise ValueError(f"search.starts: ({level}, {step}) needs 1 <= level <= {n_levels} and step +1 or -1")
    cache = _Cache(evaluate, n_units, n_levels)
    candidates = np.full((n_units, n_levels), -np.inf)
    units = np.arange(n_units)
    for start_level, step in starts:
        level = np.full(n_units, start_level)
        value = cache.get(units, level)
        active = np.ones(n_units, dtype=bool)
        while True:
            active &= (level + step >= 1) & (level + step <= n_levels)
            if not active.any():
                break
            moving_units = units[active]
            next_value = cache.get(moving_units, level[active] + step)
            moves = next_value >= value[active]
            level[moving_units[moves]] += step
            value[moving_units[moves]] = next_value[moves]
            active[moving_units[~moves]] = False
        candidates[units, level - 1] = np.maximum(candidates[units, level - 1], value)
    return SearchResult(level=candidates.argmax(axis=1) + 1, values=cache.values)


def excluding(evaluate: Criterion, levels: Sequence[int]) -> Criterion:
    """``evaluate`` with ``-inf`` at ``levels`` (never chosen; FGSS walks through them, since ties move on, and stops
    before them). The collapse guard's form of a search (:mod:`insta_rs.collapse`)."""
    excluded = np.asarray(list(levels), dtype=int)

    def guarded(units: np.ndarray, at: np.ndarray) -> np.ndarray:
        out = np.full(len(at), -np.inf)
        keep = ~np.isin(at, excluded)
        if keep.any():
            out[keep] = evaluate(units[keep], at[keep])
        return out

    return guarded


def memoized(evaluate: Criterion, n_units: int, n_levels: int) -> tuple[Criterion, np.ndarray]:
    """``evaluate`` evaluated at most once per (unit, level) across searches, and its table of values ``[U, T]``
    (NaN where never evaluated)."""
    cache = _Cache(evaluate, n_units, n_levels)
    return cache.get, cache.values


def grid(evaluate: Criterion, n_units: int, n_levels: int) -> SearchResult:
    """Grid search: evaluate every level, choose the best (the smallest level on ties)."""
    cache = _Cache(evaluate, n_units, n_levels)
    units = np.repeat(np.arange(n_units), n_levels)
    levels = np.tile(np.arange(1, n_levels + 1), n_units)
    cache.get(units, levels)
    return SearchResult(level=cache.values.argmax(axis=1) + 1, values=cache.values)


def approximate_radius(smoother: Smoother, x: torch.Tensor, idx: np.ndarray, sigma: np.ndarray,
                       estimate: RadiusEstimate) -> np.ndarray:
    """Label-free ``CR_hat(x, sigma) = sigma * PhiInv(max_y g_soft_y(x, sigma))`` (Eq. 4), p clamped to p_max."""
    scores = smoother.soft_scores(x, sigma, idx, estimate.n_samples, estimate.seed, estimate.common_noise)
    return sigma * phi_inv_clamped(scores.max(axis=1), estimate.p_max)


def label_aware_radius(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray, sigma: np.ndarray,
                       estimate: RadiusEstimate) -> np.ndarray:
    """``CR_hat(x, y, sigma) = sigma * PhiInv(g_soft_y(x, sigma))`` (Eq. 4 with the label), p clamped to p_max.

    Positive only where ``g_soft_y > 1/2``, i.e. where ``y`` is the soft prediction; negative elsewhere.
    """
    scores = smoother.soft_scores(x, sigma, idx, estimate.n_samples, estimate.seed, estimate.common_noise)
    return sigma * phi_inv_clamped(scores[np.arange(len(x)), np.asarray(labels)], estimate.p_max)


def instance_criterion(smoother: Smoother, x: torch.Tensor, idx: np.ndarray, sigma0: float, n_levels: int,
                       estimate: RadiusEstimate) -> Criterion:
    """Algorithm 1's criterion: ``CR_hat(x_u, sigma_l)`` for pairs of example ``u`` and level ``l``."""
    sigmas = sigma_levels(sigma0, n_levels)

    def evaluate(units: np.ndarray, levels: np.ndarray) -> np.ndarray:
        return approximate_radius(smoother, x[units], idx[units], sigmas[levels - 1], estimate)

    return evaluate


def _mean_positive_radius(radius: Callable[[np.ndarray], np.ndarray], sigma0: float, n_levels: int) -> Criterion:
    """The one-unit criterion ``level -> mean_x max(0, radius(sigma_level))``; ``radius`` maps a sigma per input
    to a radius per input."""
    sigmas = sigma_levels(sigma0, n_levels)

    def evaluate(units: np.ndarray, levels: np.ndarray) -> np.ndarray:
        return np.array([np.maximum(0.0, radius(sigmas[level - 1])).mean() for level in levels])

    return evaluate


def uniform_criterion(smoother: Smoother, x: torch.Tensor, idx: np.ndarray, sigma0: float, n_levels: int,
                      estimate: RadiusEstimate) -> Criterion:
    """Algorithm 3's criterion (Eq. 5): ``ACR_hat(sigma_l) = mean_x max(0, CR_hat(x, sigma_l))``, one unit."""
    return _mean_positive_radius(
        lambda sigma: approximate_radius(smoother, x, idx, np.full(len(x), sigma), estimate), sigma0, n_levels)


def labelled_uniform_criterion(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray,
                               sigma0: float, n_levels: int, estimate: RadiusEstimate) -> Criterion:
    """Eq. 5 with the labels, for choosing one level on a labelled validation split:
    ``ACR_hat_y(sigma_l) = mean_x max(0, CR_hat(x, y, sigma_l))``, one unit.

    Which estimate: the plug-in ACR of the *soft* smoothed classifier. An input counts
    ``sigma PhiInv(g_soft_y)`` when its label is the soft prediction with ``g_soft_y > 1/2`` and 0 otherwise, as
    the certified ACR counts ``sigma PhiInv(pA_lower)`` for correct certified predictions; it uses the m soft
    scores (no confidence bound, no hard counts), so it is an estimate of the ACR, not a certified one.
    The label-free :func:`uniform_criterion` counts confident wrong predictions too. Where the softmax is flat
    (SmoothAdv-trained models) ``g_soft_y`` rarely exceeds 1/2 even when the hard votes are unanimous, and the
    estimate can rank the levels wrongly; choosing by the certified ACR of validation certifications
    (:func:`insta_rs.analysis.best_uniform_acr` on them) does not have that failure.
    """
    return _mean_positive_radius(
        lambda sigma: label_aware_radius(smoother, x, labels, idx, np.full(len(x), sigma), estimate), sigma0, n_levels)
