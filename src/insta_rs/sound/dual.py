"""Dual Randomized Smoothing (Sun, Mao, Vechev, ICLR 2026, arXiv 2512.01782): an input-dependent sigma that is
certified itself, so the deployed instance-wise classifier is certified.

The deployed classifier. Candidates ``sigma_1 < ... < sigma_K`` (a subset of the levels ``sqrt(l) sigma0``). A
selector network ``s`` maps an input to a candidate index; smoothed with its own noise ``sigma_sel`` it is
``h(x) = argmax_k P[s(x + sigma_sel eps) = k]``. The classifier ``f`` smoothed at candidate k is
``g_k(x) = argmax_c P[f(x + sigma_k eps) = c]``. A user queries ``G(x) = g_{h(x)}(x)``.

Theorem (Dual RS). If ``h(x') = k`` for every ``||x' - x|| < R_sel`` and ``g_k(x') = c`` for every
``||x' - x|| < R_cls``, then ``G(x') = c`` for every ``||x' - x|| < min(R_sel, R_cls)``: on the smaller ball
the selector picks k and ``g_k`` answers c. (The Insta-RS radius is ``R_cls`` alone, which says nothing once
the level changes inside the ball: :mod:`.falsify`.)

The certificate at x (:func:`combine`, :func:`dual_frame`): CERTIFY the smoothed selector (N0 selection and N
estimation samples at ``sigma_sel``, its own noise seed, ``alpha_sel``): candidate k,
``R_sel = sigma_sel PhiInv(pA_lower_sel)``. CERTIFY ``g_k`` at ``sigma_k`` (samples independent of the
selector's, ``alpha_cls``): class c, ``R_cls = sigma_k PhiInv(pA_lower_cls)``. Report c with radius
``min(R_sel, R_cls)``; abstain when either abstains.

Validity: with probability ``>= 1 - alpha_sel - alpha_cls`` (union bound; independence is not needed). When the
selector's bound holds, ``pA_lower_sel > 1/2`` bounds the probability of k, so k is the population ``h(x)``, a
fixed number; the classifier's bound at that fixed level fails with probability at most ``alpha_cls``. The
classifier's samples must not be the ones that chose k (fresh CERTIFY at the selected sigma, or the fixed-level
certification of that level: :func:`classifier_from_levels`); the two also get different noise seeds, which
:func:`dual_frame` checks.

The selector's labels and training: :mod:`.dual_selector`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from insta_rs.analysis import aligned_levels, certification_alpha, recertified_frame
from insta_rs.certification.records import ABSTAIN, CERTIFY_COLUMNS, read_certification, write_certification
from insta_rs.certification.smoothing import Smoother
from insta_rs.levels import sigma_levels
from insta_rs.sound.deployed import AuditJob, DeployedPredict, fresh_seeds

SIGMA_ATOL = 5e-7  # sigma is written with 6 decimals
EXTRA_COLUMNS = ["level", "radius_selector", "radius_classifier", "alpha_selector", "alpha_classifier",
                 "seed_selector"]


def candidate_sigmas(levels: Sequence[int], sigma0: float) -> np.ndarray:
    """``sigma_l = sqrt(l) sigma0`` of the candidate levels, which must be distinct and ascending."""
    levels = np.asarray(levels, dtype=int)
    if len(levels) < 2 or np.any(np.diff(levels) <= 0) or levels[0] < 1:
        raise ValueError(f"sound.dual.levels = {levels.tolist()}: give at least two distinct levels >= 1 in "
                         "ascending order")
    return sigma_levels(sigma0, int(levels[-1]))[levels - 1]


def selector_assignment(selector: pd.DataFrame, levels: Sequence[int], sigma0: float) -> pd.DataFrame:
    """Per example the level the classifier is certified at: ``idx label level sigma selector_predict``.

    The candidate is the selector's ``c_hat`` (its N0-sample choice, which our certification files keep on
    abstain), so every example gets a sigma even when the selector abstains. That is harmless: the Dual RS
    certificate abstains whenever the selector does, so the classifier's result there is never claimed; it only
    keeps the classifier's certification file complete (one row per example, like every other mode).
    """
    sigmas = candidate_sigmas(levels, sigma0)
    chosen = selector["c_hat"].to_numpy(dtype=int)
    if np.any((chosen < 0) | (chosen >= len(levels))):
        raise ValueError(f"the selector certification names candidates outside 0..{len(levels) - 1}; was it made "
                         f"with a selector for the candidate levels {list(levels)}?")
    return pd.DataFrame({"idx": selector["idx"].to_numpy(), "label": selector["label"].to_numpy(),
                         "level": np.asarray(levels)[chosen], "sigma": sigmas[chosen],
                         "selector_predict": selector["predict"].to_numpy()})


def classifier_from_levels(level_frames: Mapping[int, pd.DataFrame], assignment: pd.DataFrame,
                           alpha: float) -> pd.DataFrame:
    """The classifier's certification at each example's assigned level, from the fixed-level certifications
    (``certify/<model>/level<k>.tsv``) re-certified at ``alpha`` (:func:`insta_rs.analysis.recertified_frame`).

    Under fixed-N CERTIFY identical to certifying afresh at the assigned sigma with the level files' seed, N0, N
    and ``alpha``: CERTIFY's noise is keyed by (seed, idx, stream), its counts do not depend on alpha, and the level
    is chosen from the selector's samples only. Under the sequential procedure the bound at ``alpha`` is the
    stopping round's (:mod:`insta_rs.certification.sequential`), valid as the level's stopping rule looked at its own samples only.
    """
    aligned = aligned_levels({k: level_frames[k] for k in sorted(set(assignment["level"]))})
    by_idx = assignment.set_index("idx")["level"]
    rows = []
    for level, frame in aligned.items():
        rows.append(frame[frame["idx"].map(by_idx).to_numpy() == level])
    chosen = pd.concat(rows)
    missing = np.setdiff1d(assignment["idx"].to_numpy(), chosen["idx"].to_numpy())
    if len(missing):
        raise ValueError(f"the level certifications lack test examples {missing[:10].tolist()} of the assignment")
    chosen = chosen.set_index("idx").loc[assignment["idx"].to_numpy()].reset_index()
    return recertified_frame(chosen, alpha)


@dataclass
class DualCertificate:
    """The Dual RS certificate per example (arrays of equal length)."""

    predict: np.ndarray            # class, or ABSTAIN
    radius: np.ndarray             # min(R_sel, R_cls), 0 on abstain
    selector_radius: np.ndarray    # R_sel (0 where the selector abstains)
    classifier_radius: np.ndarray  # R_cls (0 where the classifier abstains)


def combine(selector_predict: np.ndarray, selector_radius: np.ndarray, classifier_predict: np.ndarray,
            classifier_radius: np.ndarray) -> DualCertificate:
    """The theorem's rule: the classifier's class with radius ``min(R_sel, R_cls)``, ABSTAIN if either abstains."""
    selector_predict, classifier_predict = np.asarray(selector_predict), np.asarray(classifier_predict)
    selector_radius = np.asarray(selector_radius, dtype=float)
    classifier_radius = np.asarray(classifier_radius, dtype=float)
    certified = (selector_predict != ABSTAIN) & (classifier_predict != ABSTAIN)
    return DualCertificate(predict=np.where(certified, classifier_predict, ABSTAIN),
                           radius=np.where(certified, np.minimum(selector_radius, classifier_radius), 0.0),
                           selector_radius=selector_radius, classifier_radius=classifier_radius)


def dual_frame(selector: pd.DataFrame, classifier: pd.DataFrame, levels: Sequence[int], sigma0: float) -> pd.DataFrame:
    """The Dual RS certification in our TSV format from the selector's certification (our TSV of the selector at
    sigma_sel: ``predict``/``c_hat`` = candidate index) and the classifier's at the assigned sigma
    (:func:`selector_assignment`; certified afresh or :func:`classifier_from_levels`).

    Columns: :data:`insta_rs.certification.records.CERTIFY_COLUMNS` (the classifier's ``label sigma pA_lower c_hat nA nB n0A n0 n
    seed``; ``predict`` and ``radius`` from :func:`combine`; ``time`` summed; ``alpha = alpha_sel + alpha_cls``,
    the family-wise alpha), then :data:`EXTRA_COLUMNS`. Checks that both files certify the same examples, that
    each classifier sigma is the selected candidate's and that the two used different noise seeds.
    """
    if len(selector) != len(classifier) or set(selector["idx"]) != set(classifier["idx"]):
        raise ValueError("the selector and classifier certifications hold different test examples; certify both "
                         "on the same test subset")
    selector = selector.set_index("idx").loc[classifier["idx"].to_numpy()].reset_index()
    assigned = selector_assignment(selector, levels, sigma0)
    if not np.allclose(classifier["sigma"].to_numpy(dtype=float), assigned["sigma"].to_numpy(), rtol=0,
                       atol=SIGMA_ATOL):
        raise ValueError("the classifier certification is not at the sigma the selector chose for every example; "
                         "certify it at the selector's assignment")
    if np.any(selector["seed"].to_numpy() == classifier["seed"].to_numpy()):
        raise ValueError("the selector and the classifier were certified with the same noise seed; give the "
                         "selector its own (sound.dual.seed different from certify.seed)")
    alpha_sel, alpha_cls = certification_alpha(selector), certification_alpha(classifier)
    result = combine(selector["predict"].to_numpy(), selector["radius"].to_numpy(dtype=float),
                     classifier["predict"].to_numpy(), classifier["radius"].to_numpy(dtype=float))
    frame = classifier.copy()
    frame["predict"] = result.predict
    frame["radius"] = result.radius
    frame["correct"] = (result.predict == frame["label"].to_numpy()).astype(int)
    frame["time"] = selector["time"].to_numpy(dtype=float) + classifier["time"].to_numpy(dtype=float)
    frame["alpha"] = alpha_sel + alpha_cls
    frame["level"] = assigned["level"].to_numpy()
    frame["radius_selector"] = result.selector_radius
    frame["radius_classifier"] = result.classifier_radius
    frame["alpha_selector"] = alpha_sel
    frame["alpha_classifier"] = alpha_cls
    frame["seed_selector"] = selector["seed"].to_numpy()
    return frame[CERTIFY_COLUMNS + EXTRA_COLUMNS]


def dual_from_level_files(selector_path, level_paths: Mapping[int, str], levels: Sequence[int], sigma0: float,
                          alpha_cls: float, out_path) -> pd.DataFrame:
    """Read the selector's certification and the classifier's ``level<k>.tsv`` files (``level_paths[k]``, at least
    the candidate levels), take the classifier at the selected levels at ``alpha_cls``
    (:func:`classifier_from_levels`), write the :func:`dual_frame` to ``out_path`` and return it."""
    selector = read_certification(selector_path)
    assignment = selector_assignment(selector, levels, sigma0)
    level_frames = {int(k): read_certification(level_paths[k]) for k in levels}
    frame = dual_frame(selector, classifier_from_levels(level_frames, assignment, alpha_cls), levels, sigma0)
    write_certification(frame, out_path, EXTRA_COLUMNS)
    return frame


def selector_binding_share(frame: pd.DataFrame) -> float:
    """Among the certified examples of a :func:`dual_frame`, the share with ``R_sel < R_cls`` (the selector's
    radius is what limits the certificate); NaN when none is certified."""
    certified = frame["predict"].to_numpy() != ABSTAIN
    if not certified.any():
        return float("nan")
    return float(np.mean(frame["radius_selector"].to_numpy()[certified]
                         < frame["radius_classifier"].to_numpy()[certified]))


def certificate(inputs: Mapping, settings: Mapping, tsv: str) -> str:
    """The sound mode's certificate (:mod:`insta_rs.sound.modes`): :func:`dual_from_level_files` of the selector's
    certification ``inputs["selector"]`` and the level certifications ``inputs["levels"]`` (``settings["levels"]``,
    in that order), the classifier at ``settings["alpha_classifier"]``."""
    levels = settings["levels"]
    frame = dual_from_level_files(inputs["selector"], dict(zip(levels, inputs["levels"])), levels,
                                  settings["sigma0"], settings["alpha_classifier"], tsv)
    return (f"Dual RS: {len(frame)} examples, {int((frame['predict'] >= 0).sum())} certified, "
            f"ACR {float((frame['radius'] * frame['correct']).mean()):.4f}; R_sel < R_cls on "
            f"{100 * selector_binding_share(frame):.0f}% of the certified")


@dataclass(frozen=True)
class SmoothedSelector:
    """Dual RS's smoothed selector: its smoother, its sigma ``sigma_sel``, its share of alpha, its first seed."""

    smoother: Smoother
    sigma: float
    alpha: float
    seed: int


def dual_predictor(classifier: Smoother, selector: SmoothedSelector, sigmas: np.ndarray, n: int, alpha_cls: float,
                   seed: int) -> DeployedPredict:
    """Dual RS as deployed: the selector's PREDICT at ``selector.sigma`` picks a candidate ``sigmas[k]``, the
    classifier's PREDICT at that sigma answers; ABSTAIN when either abstains. The selector draws its noise from
    ``selector.seed, selector.seed + 1, ...`` and the classifier from ``seed, seed + 1, ...`` (give them disjoint
    ranges)."""
    sigmas = np.asarray(sigmas, dtype=float)
    seeds, selector_seeds = fresh_seeds(seed), fresh_seeds(selector.seed)

    def predict(x: torch.Tensor) -> np.ndarray:
        idx = np.arange(len(x))
        choice = selector.smoother.predict(x, np.full(len(x), selector.sigma), idx, n, selector.alpha,
                                           next(selector_seeds))
        answer = classifier.predict(x, sigmas[np.maximum(choice, 0)], idx, n, alpha_cls, next(seeds))
        return np.where(choice != ABSTAIN, answer, ABSTAIN)

    return predict


def deployed(job: AuditJob) -> DeployedPredict:
    """Dual RS as deployed, the selector at its share of alpha (``sound.dual.alpha_share``), the classifier at the
    rest."""
    settings = job.params.dual
    alpha_sel = settings["alpha_share"] * job.alpha
    selector = SmoothedSelector(job.smoother_of(job.layout.model_file(job.model, "selector.pt")),
                                settings["selector"]["train"]["sigma"], alpha_sel, job.seed + 1_000_000)
    return dual_predictor(job.smoother, selector, candidate_sigmas(settings["levels"], job.params.noise["sigma0"]),
                          job.n, job.alpha - alpha_sel, job.seed)
