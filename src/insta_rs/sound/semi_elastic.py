"""Certified radius for an input-dependent sigma with r-Lipschitz ``ln sigma`` (Sukenik, Kuvshinov, Guennemann,
"Intriguing Properties of Input-Dependent Randomized Smoothing", ICML 2022).

The deployed classifier is ``G(x) = g_{sigma(x)}(x)`` (for instance :mod:`.knn_sigma`'s sigma). At ``x`` with
``s0 = sigma(x)``, let ``pB = 1 - pA_lower`` bound the probability of all classes other than the prediction.
At ``x'`` with ``||x' - x|| = R`` and ``s1 = sigma(x')``, the largest probability of those classes that any base
classifier consistent with ``pB`` can have (Neyman-Pearson; the worst set is a ball for ``s1 < s0`` and the
complement of a ball for ``s1 > s0``), with ``l0 = s0^2 R^2 / (s0^2 - s1^2)^2``, ``l1 = s1^2 R^2 / (s0^2 - s1^2)^2``:

    s1 < s0:  ncx2.cdf((s0^2/s1^2) * ncx2.ppf(pB, d, l0), d, l1)
    s1 > s0:  1 - ncx2.cdf((s0^2/s1^2) * ncx2.ppf(1 - pB, d, l0), d, l1)
    s1 = s0:  Phi(PhiInv(pB) + R/s0)                                  (Cohen et al.)

``d`` is the input dimension. Since ``s1 in [s0 e^{-rR}, s0 e^{rR}]``, the prediction is certified at ``R`` when
``h(R) = max(bound(s0 e^{-rR}), bound(s0 e^{rR}), bound(s0)) < 1/2``, and the radius is the largest ``R`` with
``h(R') < 1/2`` for every ``R' <= R``. Taking ``s1 = s0`` into the maximum keeps the radius at most Cohen's
(``sigma`` may stay the same); at ``r = 0`` it is Cohen's. The bound over ``s1`` in the interval peaks at an
endpoint, and ``h`` is nondecreasing in R (both checked numerically in ``tests/test_sound_semi_elastic.py``), so
the radius is found by a scan of a grid on ``(0, R_cohen]`` and bisection inside the first failing cell.

Numerics: scipy's ``ncx2`` is accurate up to noncentralities near 1e10 and returns NaN beyond; there the normal
approximation ``ncx2(d, l) ~ N(d + l, 2(d + 2l))`` is used (relative error O(1/sqrt(l))). When
``|ln(s1/s0)| < 1e-12`` the ``s1 = s0`` formula is used; the general formulas tend to it as ``s1 -> s0``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import torch
from scipy.stats import ncx2, norm

from insta_rs.analysis import RecordedCounts
from insta_rs.certification.records import read_certification, write_certification
from insta_rs.certification.smoothing import Smoother
from insta_rs.sound.deployed import AuditJob, DeployedPredict, fresh_seeds
from insta_rs.sound.knn_sigma import knn_distance, knn_sigma, training_tensors

NC_NORMAL = 1e9
LOG_RATIO_EQUAL = 1e-12


def _ncx2_cdf(x: np.ndarray, dim: int, nc: np.ndarray) -> np.ndarray:
    exact = ncx2.cdf(x, dim, np.minimum(nc, NC_NORMAL))
    approx = norm.cdf((x - dim - nc) / np.sqrt(2.0 * (dim + 2.0 * nc)))
    return np.where((nc > NC_NORMAL) | np.isnan(exact), approx, exact)


def _ncx2_ppf(q: np.ndarray, dim: int, nc: np.ndarray) -> np.ndarray:
    exact = ncx2.ppf(q, dim, np.minimum(nc, NC_NORMAL))
    approx = np.maximum(dim + nc + norm.ppf(q) * np.sqrt(2.0 * (dim + 2.0 * nc)), 0.0)
    return np.where((nc > NC_NORMAL) | np.isnan(exact), approx, exact)


def worst_case_probability(p_other: np.ndarray, sigma0: np.ndarray, sigma1: np.ndarray, distance: np.ndarray,
                           dim: int) -> np.ndarray:
    """Largest probability of the other classes at distance ``distance`` under ``N(x', sigma1^2 I)``, given
    ``p_other`` under ``N(x, sigma0^2 I)`` (the three formulas of the module docstring; vectorized)."""
    p_other, sigma0, sigma1, distance = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in
                                                              (p_other, sigma0, sigma1, distance)))
    p_other = np.clip(p_other, 0.0, 1.0)
    out = np.empty(p_other.shape)
    equal = np.abs(np.log(sigma1 / sigma0)) < LOG_RATIO_EQUAL
    with np.errstate(divide="ignore", invalid="ignore"):
        out[equal] = norm.cdf(norm.ppf(p_other[equal]) + distance[equal] / sigma0[equal])
        gap = sigma0 ** 2 - sigma1 ** 2
        l0 = sigma0 ** 2 * distance ** 2 / gap ** 2
        l1 = sigma1 ** 2 * distance ** 2 / gap ** 2
        scale = sigma0 ** 2 / sigma1 ** 2
        shrink = ~equal & (sigma1 < sigma0)
        out[shrink] = _ncx2_cdf(scale[shrink] * _ncx2_ppf(p_other[shrink], dim, l0[shrink]), dim, l1[shrink])
        grow = ~equal & (sigma1 > sigma0)
        out[grow] = 1.0 - _ncx2_cdf(scale[grow] * _ncx2_ppf(1.0 - p_other[grow], dim, l0[grow]), dim, l1[grow])
    return out


def endpoint_bound(p_other: float, sigma: float, radius: np.ndarray, dim: int, r: float) -> np.ndarray:
    """``h(R) = max`` of the worst-case probability at ``s1 = sigma e^{-rR}``, ``sigma``, ``sigma e^{rR}``."""
    radius = np.asarray(radius, dtype=float)
    candidates = [worst_case_probability(p_other, sigma, sigma * np.exp(sign * r * radius), radius, dim)
                  for sign in (-1.0, 0.0, 1.0)]
    return np.max(candidates, axis=0)


def semi_elastic_radius(pA_lower: float, sigma: float, dim: int, r: float, n_grid: int = 64,
                        rtol: float = 1e-6) -> float:
    """Largest R with ``h(R') < 1/2`` for all ``R' <= R`` (module docstring); 0 when ``pA_lower < 1/2``."""
    if pA_lower < 0.5:
        return 0.0
    cohen = float(sigma * norm.ppf(pA_lower))
    if r == 0 or cohen == 0 or not np.isfinite(cohen):
        return cohen
    p_other = 1.0 - pA_lower
    grid = cohen * np.arange(1, n_grid + 1) / n_grid
    holds = endpoint_bound(p_other, sigma, grid, dim, r) < 0.5
    if holds.all():
        return cohen
    first_fail = int(np.argmin(holds))
    low, high = (grid[first_fail - 1] if first_fail else 0.0), grid[first_fail]
    while high - low > rtol * cohen:
        middle = 0.5 * (low + high)
        if endpoint_bound(p_other, sigma, middle, dim, r) < 0.5:
            low = middle
        else:
            high = middle
    return float(min(low, cohen))


def semi_elastic_frame(certification: pd.DataFrame, dim: int, r: float) -> pd.DataFrame:
    """Replace the Cohen radii of a certification at per-example sigma (``certify/<model>/search_knn.tsv``)
    by semi-elastic radii. ``pA_lower`` is recomputed at the certification's alpha from its recorded counts (the
    file rounds it; :class:`insta_rs.analysis.RecordedCounts`: the stopping round's bound under the sequential
    procedure), and the radius is reported as the procedure reports radii (floored to the table radii in decision
    mode); the other columns (``c_hat``, ``nB``, ...) are kept, so the result is a certification TSV of its own."""
    missing = [c for c in ("nA", "n", "alpha", "sigma", "predict", "c_hat", "nB") if c not in certification.columns]
    if missing:
        raise ValueError(f"semi-elastic radii need the certification columns {missing}; "
                         "certify with this package's certify step")
    counts = RecordedCounts.of(certification)
    frame = certification.copy()
    pA_lower = counts.lower(frame["nA"].to_numpy(), counts.alpha)
    frame["pA_lower"] = pA_lower
    frame["radius"] = counts.procedure.reported(np.array(
        [semi_elastic_radius(float(p), float(s), dim, r) if c >= 0 else 0.0
         for p, s, c in zip(pA_lower, frame["sigma"].to_numpy(dtype=float), frame["predict"])]))
    return frame


def certificate(inputs: Mapping, settings: Mapping, tsv: str) -> str:
    """The sound mode's certificate (:mod:`insta_rs.sound.modes`): :func:`semi_elastic_frame` of the certification
    at the kNN sigma ``inputs["tsv"]``, with the dimension and ``r`` of its metadata ``inputs["meta"]``."""
    meta = json.loads(Path(inputs["meta"]).read_text())
    certification = read_certification(inputs["tsv"])
    frame = semi_elastic_frame(certification, meta["dim"], meta["r"])
    write_certification(frame, tsv)
    return (f"semi-elastic (d = {meta['dim']:d}, r = {meta['r']:g}): "
            f"ACR {float((frame['radius'] * frame['correct']).mean()):.4f} (Cohen's radii at the same sigma: "
            f"{float((certification['radius'] * certification['correct']).mean()):.4f})")


def semi_elastic_predictor(smoother: Smoother, train_x: torch.Tensor, meta: dict, n: int, alpha: float,
                           seed: int) -> DeployedPredict:
    """``g_{sigma(x)}(x)`` with the kNN sigma of :mod:`insta_rs.sound.knn_sigma` (its metadata ``meta``: k, r,
    sigma_b, m and the collapse guard's sigma_max), PREDICT at that sigma."""
    seeds = fresh_seeds(seed)

    def predict(x: torch.Tensor) -> np.ndarray:
        sigma = knn_sigma(knn_distance(x, train_x, meta["k"]), meta["sigma_b"], meta["r"], meta["m"],
                          meta.get("sigma_max"))
        return smoother.predict(x, sigma, np.arange(len(x)), n, alpha, next(seeds))

    return predict


def deployed(job: AuditJob) -> DeployedPredict:
    """The semi-elastic sigma as deployed: the kNN sigma of the training tensors its metadata names."""
    meta = json.loads(Path(job.layout.knn_meta(job.model)).read_text())
    train_x = training_tensors(job.dataset, job.params.semi_elastic["max_train"], meta["seed"])
    return semi_elastic_predictor(job.smoother, train_x, meta, job.n, job.alpha, job.seed)
