"""Metrics and ACR definitions on hand-made certification frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, norm

from insta_rs import analysis


def frame(idx, label, predict, radius, **extra) -> pd.DataFrame:
    predict = np.asarray(predict)
    return pd.DataFrame({"idx": idx, "label": label, "predict": predict, "radius": radius,
                         "correct": (predict == np.asarray(label)).astype(int), **extra})


def levels_from_radii(radius: np.ndarray, correct: np.ndarray) -> dict[int, pd.DataFrame]:
    """Level k+1 <- column k of (radius, correct); examples idx 10, 11, ...; label 0; wrong means predict 1."""
    n = radius.shape[0]
    return {k + 1: frame(np.arange(10, 10 + n), np.zeros(n, int), np.where(correct[:, k], 0, 1), radius[:, k],
                         sigma=np.full(n, 0.25 * np.sqrt(k + 1)))
            for k in range(radius.shape[1])}


def test_certified_accuracy_and_acr() -> None:
    f = frame([0, 1, 2, 3], [1, 1, 2, 3], [1, 1, -1, 0], [0.0, 0.8, 0.0, 2.0])
    assert analysis.certified_accuracy(f, [0.0, 0.5, 0.8, 1.0]).tolist() == [0.5, 0.25, 0.25, 0.0]
    assert analysis.acr(f) == pytest.approx(0.8 / 4)          # the wrong radius 2.0 counts 0


RADIUS = np.array([[0.2, 0.4, 0.6],
                   [0.5, 0.3, 0.0],
                   [0.1, 0.9, 0.2],
                   [0.7, 0.8, 0.9]])
CORRECT = np.array([[1, 1, 1],
                    [1, 1, 0],
                    [1, 1, 1],
                    [0, 0, 0]], dtype=bool)


def test_acr_by_level_and_best_uniform() -> None:
    levels = levels_from_radii(RADIUS, CORRECT)
    by_level = analysis.acr_by_level(levels)
    expected = (RADIUS * CORRECT).mean(axis=0)                 # [0.2, 0.4, 0.2]
    np.testing.assert_allclose(by_level["acr"], expected)
    np.testing.assert_allclose(by_level["sigma"], 0.25 * np.sqrt([1, 2, 3]))
    choice = analysis.best_uniform_acr(levels)
    assert (choice.level, choice.acr) == (2, pytest.approx(0.4))


def test_best_uniform_ties_go_to_the_smaller_level() -> None:
    radius = np.array([[0.5, 0.5]])
    assert analysis.best_uniform_acr(levels_from_radii(radius, np.ones_like(radius, bool))).level == 1


def test_oracle_envelope_is_the_per_example_maximum() -> None:
    envelope = analysis.oracle_envelope(levels_from_radii(RADIUS, CORRECT), alpha_correction=False)
    assert envelope["idx"].tolist() == [10, 11, 12, 13]
    assert envelope["level"].tolist() == [3, 1, 2, 1]          # all-wrong example: lowest level, not correct
    assert envelope["correct"].tolist() == [1, 1, 1, 0]
    assert analysis.acr(envelope) == pytest.approx((0.6 + 0.5 + 0.9) / 4)


def test_levels_must_hold_the_same_examples() -> None:
    levels = levels_from_radii(RADIUS, CORRECT)
    levels[2] = levels[2].iloc[:3]
    with pytest.raises(ValueError, match="level 2 and level 1 certify different test examples"):
        analysis.oracle_envelope(levels, alpha_correction=False)
    levels = levels_from_radii(RADIUS, CORRECT)
    levels[3] = levels[3].iloc[::-1]                           # row order does not matter
    assert analysis.best_uniform_acr(levels).level == 2


def counts_frame(nA: list[int], n: int, alpha: float, sigma: float) -> pd.DataFrame:
    nA_array = np.asarray(nA)
    return frame(np.arange(len(nA)), np.zeros(len(nA), int), np.zeros(len(nA), int), np.zeros(len(nA)),
                 nA=nA_array, n=n, alpha=alpha, sigma=sigma)


def test_bonferroni_recomputes_radius_at_alpha_over_k() -> None:
    n, alpha, k = 100_000, 0.001, 16
    corrected = analysis.bonferroni_frame(counts_frame([n, 90_000, 50_050], n, alpha, sigma=1.0), k)
    # nA = N: pA_lower = (alpha/K)^(1/N); the cap drops from 3.8115 to 3.727 (soundness notes).
    assert corrected["radius"].iloc[0] == pytest.approx(norm.ppf((alpha / k) ** (1 / n)), rel=1e-9)
    assert corrected["radius"].iloc[0] == pytest.approx(3.727, abs=1e-3)
    assert corrected["pA_lower"].iloc[1] == pytest.approx(beta.ppf(alpha / k, 90_000, n - 90_000 + 1), rel=1e-9)
    # 50050 / 1e5 is certified at no alpha this small: abstain, radius 0, wrong.
    assert corrected["predict"].iloc[2] == -1 and corrected["correct"].iloc[2] == 0
    assert corrected["radius"].iloc[2] == 0.0
    assert (corrected["alpha"] == alpha / k).all()


def test_bonferroni_envelope_is_below_the_uncorrected_one() -> None:
    n = 1000
    levels = {k: counts_frame([990, 600 + 100 * k], n, 0.001, sigma=0.25 * np.sqrt(k)) for k in (1, 2, 3)}
    for k, f in levels.items():   # radii as certification at alpha computes them
        levels[k] = f.assign(radius=analysis.bonferroni_frame(f, 1)["radius"])
    plain = analysis.oracle_envelope(levels, alpha_correction=False)
    corrected = analysis.oracle_envelope(levels, alpha_correction=True)
    assert (corrected["radius"] < plain["radius"]).all()
    assert analysis.acr(corrected) < analysis.acr(plain)


def test_bonferroni_needs_counts() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['nA', 'n', 'alpha', 'sigma'\]"):
        analysis.bonferroni_frame(frame([0], [0], [0], [0.1]), 16)


def test_uniform_choices_and_search_steps() -> None:
    uniform = pd.DataFrame({"level": [1, 16, 2, 3], "acr_hat": [0.2, 0.1, 0.4, 0.4], "chosen": [0, 0, 1, 0]})
    assert analysis.chosen_level(uniform) == 2
    with pytest.raises(ValueError, match="exactly one level"):
        analysis.chosen_level(uniform.assign(chosen=1))
    assert analysis.average_search_steps(pd.DataFrame({"n_levels_evaluated": [16, 5, 6]})) == 9.0
