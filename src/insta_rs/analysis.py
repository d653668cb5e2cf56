"""Metrics over certification results: certified accuracy, ACR, and the ACR definitions of Table 2.

Every function takes certification frames as read by :func:`insta_rs.certification.records.read_certification`
(one row per test example, columns at least ``idx label predict radius correct``). An abstention
(``predict = -1``) and a wrong prediction both count as not certified.

``level_frames`` maps a noise level ``k`` (``sigma_k = sqrt(k) * sigma0``) to the fixed-sigma
certification of the whole test subset at that level; all frames must hold the same ``idx`` set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from insta_rs.certification.procedures import CountBounds, Procedure, procedure_from_label
from insta_rs.certification.records import FIXED_N
from insta_rs.certification.stats import cohen_radius


def certified_accuracy(frame: pd.DataFrame, radii: Sequence[float]) -> np.ndarray:
    """Certified accuracy at each radius r: ``mean_i [correct_i and radius_i >= r]``."""
    correct = frame["correct"].to_numpy().astype(bool)
    radius = frame["radius"].to_numpy(dtype=float)
    return np.array([float(np.mean(correct & (radius >= r))) for r in radii])


def acr(frame: pd.DataFrame) -> float:
    """Average certified radius ``mean_i radius_i * correct_i`` (wrong and abstained examples count 0)."""
    return float(np.mean(frame["radius"].to_numpy(dtype=float) * frame["correct"].to_numpy()))


def aligned_levels(level_frames: Mapping[int, pd.DataFrame]) -> dict[int, pd.DataFrame]:
    """The frames sorted by level and each sorted by ``idx``, after checking they hold the same examples.

    Raises ValueError naming the first level whose ``idx`` set or labels differ from the lowest level's.
    """
    if not level_frames:
        raise ValueError("no certification levels given: need level<k>.tsv files for k = 1..n_levels")
    levels = sorted(level_frames)
    aligned = {k: level_frames[k].sort_values("idx").reset_index(drop=True) for k in levels}
    reference = aligned[levels[0]]
    for k in levels:
        frame = aligned[k]
        if frame["idx"].duplicated().any():
            raise ValueError(f"level {k}: duplicate idx values {frame['idx'][frame['idx'].duplicated()].tolist()[:5]}")
        if not np.array_equal(frame["idx"].to_numpy(), reference["idx"].to_numpy()):
            only_here = sorted(set(frame["idx"]) - set(reference["idx"]))[:5]
            only_there = sorted(set(reference["idx"]) - set(frame["idx"]))[:5]
            raise ValueError(f"level {k} and level {levels[0]} certify different test examples "
                             f"(idx only in level {k}: {only_here}, only in level {levels[0]}: {only_there}); "
                             "re-run certification of all levels on the same test subset")
        if not np.array_equal(frame["label"].to_numpy(), reference["label"].to_numpy()):
            raise ValueError(f"level {k} and level {levels[0]} disagree on labels for the same idx")
    return aligned


def acr_by_level(level_frames: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """``ACR(sigma_k) = mean_i CR(x_i, sigma_k)`` for every level (Figure 1(a)); columns level, sigma, acr."""
    aligned = aligned_levels(level_frames)
    return pd.DataFrame({
        "level": list(aligned),
        "sigma": [float(frame["sigma"].iloc[0]) if "sigma" in frame else np.nan for frame in aligned.values()],
        "acr": [acr(frame) for frame in aligned.values()],
    })


@dataclass(frozen=True)
class LevelChoice:
    """A single noise level chosen for the whole test subset, and its certification."""

    level: int
    acr: float
    frame: pd.DataFrame


def best_uniform_acr(level_frames: Mapping[int, pd.DataFrame], exclude: Sequence[int] = ()) -> LevelChoice:
    """The paper's baseline ACR (Table 2): ``max_sigma mean_i CR(x_i, sigma)`` over the levels, those in ``exclude``
    left out (the collapse guard, :mod:`insta_rs.collapse`).

    On the test set the level is chosen with the test labels, so the number is optimistic; ties go to the smaller
    level.
    """
    aligned = aligned_levels(level_frames)
    by_level = acr_by_level(aligned)
    allowed = ~by_level["level"].isin(list(exclude)).to_numpy()
    if not allowed.any():
        raise ValueError(f"every level is excluded ({sorted(exclude)}): nothing to choose from")
    scores = np.where(allowed, by_level["acr"].to_numpy(), -np.inf)
    best = int(by_level["level"].iloc[int(np.argmax(scores))])
    return LevelChoice(level=best, acr=acr(aligned[best]), frame=aligned[best])


def certification_alpha(frame: pd.DataFrame) -> float:
    """The one alpha a certification frame was made at, after checking it holds the counts (``nA n alpha sigma``;
    published Cohen files lack them) that re-certifying needs."""
    missing = [c for c in ("nA", "n", "alpha", "sigma") if c not in frame.columns]
    if missing:
        raise ValueError(f"re-certifying at another alpha (e.g. the alpha/K correction) recomputes radii from counts, "
                         f"but the certification lacks columns {missing}; certify with this package's certify step")
    alphas = frame["alpha"].unique()
    if len(alphas) != 1:
        raise ValueError(f"one certification level mixes alpha values {sorted(alphas)}; certify it with one alpha")
    return float(alphas[0])


def procedure_of(frame: pd.DataFrame) -> Procedure:
    """The one procedure a certification frame was made with (its ``procedure`` column; fixed-N CERTIFY for files
    without one)."""
    labels = frame["procedure"].unique() if "procedure" in frame.columns else [FIXED_N]
    if len(labels) != 1:
        raise ValueError(f"one certification mixes procedures {sorted(labels)}; certify it with one procedure")
    return procedure_from_label(str(labels[0]))


@dataclass(frozen=True)
class RecordedCounts:
    """What a certification frame's counts support: its procedure, the bounds at any level from its counts
    (:meth:`insta_rs.certification.procedures.Procedure.bounds`) and the samples each example used."""

    procedure: Procedure
    bounds: CountBounds
    n_used: np.ndarray
    alpha: float

    @classmethod
    def of(cls, frame: pd.DataFrame) -> RecordedCounts:
        alpha, procedure = certification_alpha(frame), procedure_of(frame)
        caps = frame["n"].unique()
        if len(caps) != 1:
            raise ValueError(f"one certification mixes N = {sorted(caps)}; certify it with one certify.n")
        n_used = (frame["n_used"] if "n_used" in frame.columns else frame["n"]).to_numpy()
        return cls(procedure, procedure.bounds(int(caps[0]), alpha), n_used, alpha)

    def lower(self, count: np.ndarray, alpha: float) -> np.ndarray:
        """Lower bounds at ``alpha`` (at most the certification's) from ``count`` of each example's samples."""
        return self.bounds.lower(np.asarray(count), self.n_used, self._at_most_certified(alpha))

    def upper(self, count: np.ndarray, alpha: float) -> np.ndarray:
        """Upper bounds at ``alpha`` (at most the certification's) from ``count`` of each example's samples."""
        return self.bounds.upper(np.asarray(count), self.n_used, self._at_most_certified(alpha))

    def _at_most_certified(self, alpha: float) -> float:
        if alpha > self.alpha * (1 + 1e-12):
            raise ValueError(f"a bound at alpha = {alpha:g} above the certification's {self.alpha:g}")
        return alpha


def recertified_frame(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The certification of the same counts at another ``alpha`` (at most the frame's): ``pA_lower`` is the
    procedure's bound at ``alpha`` from the recorded counts (fixed N: ``CP_lower(nA, N, alpha)``; sequential: the
    stopping round's bound with every round's level scaled, :mod:`insta_rs.certification.sequential`), ``radius = sigma *
    PhiInv(pA_lower)`` as the procedure reports it, abstain (predict -1, radius 0, wrong) where ``pA_lower < 1/2``.

    Fixed-N CERTIFY's counts do not depend on alpha (the selected class and ``nA`` come from the N0 and N samples
    alone), so this equals certifying afresh at ``alpha`` with the same seed. The class is the ``c_hat`` column
    (kept on abstain); without it, ``predict``, so an abstention stays one even where a larger alpha would certify.
    """
    counts = RecordedCounts.of(frame)
    pA_lower = counts.lower(frame["nA"].to_numpy(), alpha)
    corrected = frame.copy()
    certified = pA_lower >= 0.5
    selected = frame["c_hat" if "c_hat" in frame.columns else "predict"].to_numpy()
    corrected["pA_lower"] = pA_lower
    corrected["alpha"] = alpha
    corrected["predict"] = np.where(certified, selected, -1)
    corrected["correct"] = (corrected["predict"].to_numpy() == frame["label"].to_numpy()).astype(int)
    corrected["radius"] = counts.procedure.reported(cohen_radius(frame["sigma"].to_numpy(dtype=float), pA_lower))
    return corrected


def bonferroni_frame(frame: pd.DataFrame, n_candidates: int) -> pd.DataFrame:
    """Re-certify one level at ``alpha / n_candidates`` (Bonferroni; :func:`recertified_frame`)."""
    return recertified_frame(frame, certification_alpha(frame) / n_candidates)


def oracle_envelope(level_frames: Mapping[int, pd.DataFrame], alpha_correction: bool) -> pd.DataFrame:
    """The paper's Insta-RS Train ACR (Table 2): per example the best certified radius over the levels,
    ``CR*(x_i) = max_k correct_ik * radius_ik``, so ``ACR = mean_i CR*(x_i)``.

    Taking the maximum looks at the labels and at K = len(level_frames) certification outcomes: it is an
    upper bound of any label-free per-example choice, not a certificate. With ``alpha_correction`` every
    level is first re-certified at ``alpha / K`` (Bonferroni, :func:`bonferroni_frame`), which is what a
    maximum over K certified results needs. Returns one row per idx with the certification of the chosen
    level (``correct`` = correct at some level; ties and all-wrong rows take the lowest level) and a
    ``level`` column.
    """
    aligned = aligned_levels(level_frames)
    if alpha_correction:
        aligned = {k: bonferroni_frame(frame, len(aligned)) for k, frame in aligned.items()}
    levels = np.array(list(aligned))
    correct = np.stack([frame["correct"].to_numpy().astype(bool) for frame in aligned.values()], axis=1)
    radius = np.stack([frame["radius"].to_numpy(dtype=float) for frame in aligned.values()], axis=1)
    score = np.where(correct, radius, -1.0)
    chosen = np.argmax(score, axis=1)
    envelope = pd.concat([frame[chosen == j] for j, frame in enumerate(aligned.values())])
    envelope["level"] = levels[chosen[envelope.index.to_numpy()]]
    envelope = envelope.sort_values("idx").reset_index(drop=True)
    return envelope


def chosen_level(uniform_table: pd.DataFrame, column: str = "chosen") -> int:
    """The level flagged ``column == 1`` in an Algorithm 3 result (columns level sigma acr_hat chosen; the validation
    split's also collapsed and chosen_without_guard)."""
    flagged = uniform_table.loc[uniform_table[column] == 1, "level"]
    if len(flagged) != 1:
        raise ValueError(f"a uniform search result must flag exactly one level with {column} = 1, found {len(flagged)}")
    return int(flagged.iloc[0])


def average_search_steps(search_frame: pd.DataFrame) -> float:
    """ASS (Table 3): mean number of distinct levels evaluated per example, ``mean_i n_levels_evaluated_i``."""
    return float(np.mean(search_frame["n_levels_evaluated"].to_numpy(dtype=float)))
