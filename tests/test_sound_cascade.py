"""Cascade certificate: hand-computed radii, abstention rules, Bonferroni bounds, and the TSV round trip."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from insta_rs.certification.records import CERTIFY_COLUMNS, read_certification, write_certification
from insta_rs.certification.stats import p_upper_bound, pA_lower_bound
from insta_rs.sound.cascade import (
    ABSTAIN,
    LevelBounds,
    bounds_from_counts,
    cascade_frame,
    cascade_from_bounds,
    cascade_from_level_files,
)

SIGMA = np.array([1.0, 0.5, 0.25])


def one_example(top_class, top_lower, other_upper, any_upper):
    return LevelBounds(sigma=SIGMA, top_class=np.array(top_class)[:, None], top_lower=np.array(top_lower)[:, None],
                       other_upper=np.array(other_upper)[:, None], any_upper=np.array(any_upper)[:, None])


def test_stops_at_first_confident_level_with_hand_radius():
    # level 1 passes (class 3 at 0.45, others at most 0.2), level 2 fires with class 3 at 0.9
    bounds = one_example([3, 3, 3], [0.45, 0.9, 0.99], [0.2, 0.1, 0.01], [0.46, 0.91, 0.99])
    result = cascade_from_bounds(bounds, p0=0.5)
    r_stop = 0.5 * norm.ppf(0.9)
    r_pass = 1.0 * (0 - norm.ppf(0.2))
    assert result.stop[0] == 1 and result.predict[0] == 3
    assert result.radius[0] == pytest.approx(min(r_stop, r_pass))


def test_earlier_level_of_another_class_uses_the_bound_on_all_classes():
    # level 1 selected class 5 (not the output 3): its bound on every class (0.3) limits the radius
    bounds = one_example([5, 3, 3], [0.3, 0.95, 0.99], [0.6, 0.05, 0.01], [0.3, 0.95, 0.99])
    result = cascade_from_bounds(bounds, p0=0.5)
    assert result.predict[0] == 3
    assert result.radius[0] == pytest.approx(min(0.5 * norm.ppf(0.95), -norm.ppf(0.3)))


def test_abstains_when_an_earlier_level_may_fire_with_another_class():
    # level 1: another class's interval reaches p0 (straddles): G(x) is undetermined
    bounds = one_example([5, 3, 3], [0.45, 0.95, 0.99], [0.5, 0.05, 0.01], [0.55, 0.95, 0.99])
    result = cascade_from_bounds(bounds, p0=0.5)
    assert result.predict[0] == ABSTAIN and result.radius[0] == 0.0 and result.stop[0] == 1


def test_straddling_interval_of_the_output_class_is_harmless():
    # level 1's interval for class 3 straddles p0, every other class is below 0.3: stopping there would give 3 too
    bounds = one_example([3, 3, 3], [0.45, 0.95, 0.99], [0.3, 0.05, 0.01], [0.6, 0.95, 0.99])
    result = cascade_from_bounds(bounds, p0=0.5)
    assert result.predict[0] == 3
    assert result.radius[0] == pytest.approx(min(0.5 * norm.ppf(0.95), -norm.ppf(0.3)))


def test_abstains_when_no_level_fires():
    bounds = one_example([1, 1, 1], [0.4, 0.45, 0.5], [0.2, 0.2, 0.2], [0.6, 0.6, 0.6])
    result = cascade_from_bounds(bounds, p0=0.5)
    assert result.predict[0] == ABSTAIN and result.stop[0] == -1 and result.radius[0] == 0.0


def test_threshold_above_half_reduces_the_stopping_radius():
    bounds = one_example([2, 2, 2], [0.95, 0.99, 0.99], [0.05, 0.01, 0.01], [0.95, 0.99, 0.99])
    result = cascade_from_bounds(bounds, p0=0.7)
    assert result.stop[0] == 0
    assert result.radius[0] == pytest.approx(1.0 * (norm.ppf(0.95) - norm.ppf(0.7)))


def test_invalid_threshold_and_level_order_raise():
    bounds = one_example([0, 0, 0], [0.9, 0.9, 0.9], [0.1, 0.1, 0.1], [0.9, 0.9, 0.9])
    with pytest.raises(ValueError, match="p0"):
        cascade_from_bounds(bounds, p0=0.4)
    bounds.sigma = SIGMA[::-1].copy()
    with pytest.raises(ValueError, match="descending"):
        cascade_from_bounds(bounds)


def test_top_class_counts_only_at_half_certify_only_at_the_largest_sigma():
    # level 1 not confident (nA = 450 of 1000), level 2 confident: 1 - L_1 > 1/2 forbids a certificate
    bounds = bounds_from_counts(SIGMA, np.array([[4], [4], [4]]), np.array([[450], [990], [999]]), 1000, 0.001)
    assert cascade_from_bounds(bounds, 0.5).predict[0] == ABSTAIN
    # with the runner-up counts (at most 100 of 1000 for another class) the same data certify at level 2
    bounds = bounds_from_counts(SIGMA, np.array([[4], [4], [4]]), np.array([[450], [990], [999]]), 1000, 0.001,
                                nB=np.array([[100], [5], [1]]))
    result = cascade_from_bounds(bounds, 0.5)
    assert result.predict[0] == 4 and result.stop[0] == 1
    expected = min(0.5 * norm.ppf(pA_lower_bound(990, 1000, 0.001 / 3 / 2)),
                   -1.0 * norm.ppf(p_upper_bound(100, 1000, 0.001 / 3 / 4)))
    assert result.radius[0] == pytest.approx(expected)


def test_bounds_spend_alpha_over_levels():
    bounds = bounds_from_counts(SIGMA, np.zeros((3, 1), int), np.full((3, 1), 900), 1000, 0.03)
    assert bounds.top_lower[0, 0] == pytest.approx(pA_lower_bound(900, 1000, 0.01))
    assert bounds.other_upper[0, 0] == pytest.approx(1 - pA_lower_bound(900, 1000, 0.01))
    with_runner_up = bounds_from_counts(SIGMA, np.zeros((3, 1), int), np.full((3, 1), 900), 1000, 0.03,
                                        nB=np.full((3, 1), 60))
    assert with_runner_up.top_lower[0, 0] == pytest.approx(pA_lower_bound(900, 1000, 0.005))
    assert with_runner_up.any_upper[0, 0] == pytest.approx(p_upper_bound(900, 1000, 0.0025))
    assert with_runner_up.other_upper[0, 0] == pytest.approx(p_upper_bound(60, 1000, 0.0025))
    with pytest.raises(ValueError, match="nB"):
        bounds_from_counts(SIGMA, np.zeros((3, 1), int), np.full((3, 1), 900), 1000, 0.03, nB=np.full((3, 1), 200))


def level_frame(sigma, c_hat, nA, nB, label, n=1000, alpha=0.001):
    """A level certification in our format; ``c_hat`` is kept on abstain, as the certify step writes it."""
    pA_lower = pA_lower_bound(np.array(nA), n, alpha)
    predict = np.where(pA_lower >= 0.5, c_hat, -1)
    return pd.DataFrame({"idx": [0, 5], "label": label, "predict": predict, "radius": 0.0,
                         "correct": (predict == np.array(label)).astype(int), "time": 1.5, "sigma": sigma,
                         "pA_lower": pA_lower, "c_hat": c_hat, "nA": nA, "nB": nB, "n0A": 90, "n0": 100, "n": n,
                         "alpha": alpha, "seed": 0, "n_used": n, "procedure": "cohen"})


def three_levels():
    # example 0 is confident at every level; example 5 selects class 7 everywhere but abstains at sigma 1.0
    # (nA = 300), where no other class has more than nB = 250 of 1000
    return {1: level_frame(0.25, [2, 7], [999, 999], [1, 1], [2, 7]),
            2: level_frame(0.5, [2, 7], [995, 995], [3, 4], [2, 7]),
            3: level_frame(1.0, [2, 7], [990, 300], [5, 250], [2, 7])}


def test_frame_and_files_round_trip_with_runner_up_counts(tmp_path):
    paths = []
    for level, frame in three_levels().items():
        paths.append(tmp_path / f"level{level}.tsv")
        write_certification(frame, paths[-1])
    out = tmp_path / "cascade.tsv"
    result = cascade_from_level_files(paths, out, p0=0.5)
    written = read_certification(out)
    assert list(written.columns) == CERTIFY_COLUMNS
    per_level = 0.001 / 3
    # example 0 stops at the largest sigma; example 5 passes sigma 1.0 (class 7 at most CP_upper(250)) and
    # stops at sigma 0.5 with class 7, its radius limited by the passed level
    assert written["predict"].tolist() == [2, 7]
    assert written["sigma"].tolist() == [1.0, 0.5]
    assert written["c_hat"].tolist() == [2, 7] and written["nB"].tolist() == [5, 4]
    assert written["radius"].iloc[0] == pytest.approx(1.0 * norm.ppf(pA_lower_bound(990, 1000, per_level / 2)),
                                                      abs=1e-6)
    expected = min(0.5 * norm.ppf(pA_lower_bound(995, 1000, per_level / 2)),
                   -1.0 * norm.ppf(p_upper_bound(250, 1000, per_level / 4)))
    assert written["radius"].iloc[1] == pytest.approx(expected, abs=1e-6)
    assert written["time"].tolist() == [1.5, 3.0]
    assert written["alpha"].tolist() == [0.001, 0.001]
    assert result["correct"].tolist() == [1, 1]


def test_without_runner_up_counts_only_the_largest_sigma_certifies():
    frames = {level: frame.drop(columns=["nB"]) for level, frame in three_levels().items()}
    result = cascade_frame(frames, p0=0.5)
    # the top-class count alone cannot exclude another class at sigma 1.0 for example 5: abstain
    assert result["predict"].tolist() == [2, -1]
    assert result["radius"].iloc[0] == pytest.approx(1.0 * norm.ppf(pA_lower_bound(990, 1000, 0.001 / 3)))
    assert result["nB"].tolist() == [-1, -1] and result["c_hat"].tolist() == [2, 7]
    # without c_hat the selected class of an abstained level is unknown (predict = -1)
    without_c_hat = cascade_frame({level: frame.drop(columns=["c_hat"]) for level, frame in frames.items()})
    assert without_c_hat["c_hat"].tolist() == [2, 7] and without_c_hat["predict"].tolist() == [2, -1]


def test_frame_rejects_mixed_alpha_and_missing_counts():
    frames = {1: level_frame(0.25, [2, 7], [999, 999], [1, 1], [2, 7]),
              2: level_frame(0.5, [2, 7], [995, 600], [3, 4], [2, 7], alpha=0.01)}
    with pytest.raises(ValueError, match="alpha"):
        cascade_frame(frames)
    frames[2] = frames[2].drop(columns=["nA"])
    with pytest.raises(ValueError, match="nA"):
        cascade_frame(frames)
