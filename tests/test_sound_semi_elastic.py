"""Semi-elastic radius (Sukenik et al. 2022) and the kNN sigma: limits, Monte Carlo checks of the worst-case
formula, the numerical facts the radius search relies on, and the assignment table."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import ncx2, norm

from insta_rs.certification.records import CERTIFY_COLUMNS, read_certification, write_certification
from insta_rs.certification.stats import pA_lower_bound
from insta_rs.sound import semi_elastic
from insta_rs.sound.knn_sigma import (
    KnnSigmaSettings,
    assign_knn_sigma,
    knn_distance,
    knn_sigma,
    reference_distance,
    training_tensors,
)
from insta_rs.sound.semi_elastic import endpoint_bound, semi_elastic_frame, semi_elastic_radius, worst_case_probability


@pytest.mark.parametrize("pA,sigma,dim", [(0.6, 0.25, 64), (0.99, 0.5, 3072), (0.99993, 1.0, 3072)])
def test_equals_cohen_at_r_zero(pA, sigma, dim):
    assert semi_elastic_radius(pA, sigma, dim, r=0.0) == pytest.approx(sigma * norm.ppf(pA), rel=1e-12)


def test_abstains_below_one_half():
    assert semi_elastic_radius(0.49, 0.5, 64, 0.01) == 0.0


@pytest.mark.parametrize("dim", [64, 3072])
def test_never_exceeds_cohen_and_shrinks_with_r(dim):
    for pA in (0.7, 0.999):
        cohen = 0.5 * norm.ppf(pA)
        radii = [semi_elastic_radius(pA, 0.5, dim, r) for r in (0.001, 0.01, 0.1)]
        assert all(0 < radius <= cohen for radius in radii)
        assert radii[0] > radii[1] > radii[2]


def test_high_dimension_costs_more_than_low_dimension():
    assert semi_elastic_radius(0.99, 0.5, 3072, 0.01) < semi_elastic_radius(0.99, 0.5, 64, 0.01)


@pytest.mark.parametrize("dim", [10, 3072])
def test_worst_case_tends_to_cohen_as_sigma_ratio_tends_to_one(dim):
    cohen = norm.cdf(norm.ppf(0.01) + 0.3 / 0.5)
    for eps in (1e-6, 1e-8):
        for sign in (-1, 1):
            value = worst_case_probability(0.01, 0.5, 0.5 * (1 + sign * eps), 0.3, dim)
            assert value == pytest.approx(cohen, abs=1e-4)
    if dim == 3072:  # not vacuous: a 5% change of sigma is far from the limit in high dimension
        assert worst_case_probability(0.01, 0.5, 0.5 * 1.05, 0.3, dim) > cohen + 0.1


def test_worst_case_at_equal_sigma_is_cohen_and_at_zero_distance_is_pB():
    assert worst_case_probability(0.2, 0.5, 0.5, 0.0, 64) == pytest.approx(0.2)
    assert worst_case_probability(0.2, 0.5, 0.5, 0.4, 64) == pytest.approx(norm.cdf(norm.ppf(0.2) + 0.8))


@pytest.mark.parametrize("sigma1", [0.4, 0.65])
def test_worst_case_formula_matches_monte_carlo_of_the_neyman_pearson_set(sigma1):
    """The worst set is a ball around c* = (s0^2 x' - s1^2 x) / (s0^2 - s1^2) (s1 < s0), or its complement
    (s1 > s0): sample it under both Gaussians in d = 3."""
    dim, sigma0, p_other, distance = 3, 0.5, 0.1, 0.3
    x, x_prime = np.zeros(dim), np.r_[distance, 0.0, 0.0]
    gap = sigma0 ** 2 - sigma1 ** 2
    center = (sigma0 ** 2 * x_prime - sigma1 ** 2 * x) / gap
    l0 = sigma0 ** 2 * distance ** 2 / gap ** 2
    quantile = p_other if sigma1 < sigma0 else 1 - p_other
    radius2 = sigma0 ** 2 * ncx2.ppf(quantile, dim, l0)
    rng = np.random.default_rng(0)
    n_samples = 400_000

    def in_worst_set(z):
        inside = np.sum((z - center) ** 2, axis=1) <= radius2
        return inside if sigma1 < sigma0 else ~inside

    at_x = in_worst_set(x + sigma0 * rng.standard_normal((n_samples, dim))).mean()
    at_x_prime = in_worst_set(x_prime + sigma1 * rng.standard_normal((n_samples, dim))).mean()
    bound = worst_case_probability(p_other, sigma0, sigma1, distance, dim)
    se = lambda p: 4 * np.sqrt(p * (1 - p) / n_samples)  # noqa: E731
    assert at_x == pytest.approx(p_other, abs=se(p_other))
    assert at_x_prime == pytest.approx(bound, abs=se(bound))
    # a half-space with the same mass at x is no worse than the Neyman-Pearson set
    half_space = 1 - norm.cdf((sigma0 * norm.ppf(1 - p_other) - distance) / sigma1)
    assert half_space <= bound + 1e-12


@pytest.mark.parametrize("dim", [2, 64, 3072])
@pytest.mark.parametrize("p_other", [0.3, 1e-3])
def test_bound_peaks_at_an_endpoint_and_grows_with_radius(dim, p_other):
    """The facts the radius search relies on (module docstring of semi_elastic)."""
    sigma0, r = 0.5, 0.05
    radii = np.linspace(0.01, 1.5, 60)
    h = endpoint_bound(p_other, sigma0, radii, dim, r)
    assert np.all(np.diff(h) >= -1e-9)
    for radius in (0.05, 0.5, 1.5):
        inner = sigma0 * np.exp(np.linspace(-r * radius, r * radius, 21)[1:-1])
        interior = worst_case_probability(p_other, sigma0, inner, radius, dim)
        assert interior.max() <= endpoint_bound(p_other, sigma0, radius, dim, r) + 1e-9


def test_radius_is_where_the_bound_reaches_one_half():
    for dim, r in ((64, 0.1), (3072, 0.01)):
        radius = semi_elastic_radius(0.99, 0.5, dim, r)
        assert endpoint_bound(0.01, 0.5, radius, dim, r) < 0.5
        assert endpoint_bound(0.01, 0.5, radius * (1 + 1e-4), dim, r) >= 0.5


def test_normal_approximation_takes_over_smoothly(monkeypatch):
    args = (0.01, 0.5, 0.5 * (1 - 1e-4), 0.3, 3072)  # noncentralities near 2e6
    exact = worst_case_probability(*args)
    monkeypatch.setattr(semi_elastic, "NC_NORMAL", 1e5)
    assert worst_case_probability(*args) == pytest.approx(exact, abs=2e-3)


def test_frame_replaces_radii_and_keeps_abstentions(tmp_path):
    frame = pd.DataFrame({"idx": [0, 1, 2], "label": [1, 1, 2], "predict": [1, -1, 2], "radius": [9.0, 0.0, 9.0],
                          "correct": [1, 0, 1], "time": 0.1, "sigma": [0.5, 0.5, 0.51], "pA_lower": 0.0,
                          "c_hat": [1, 3, 2], "nA": [990, 400, 999], "nB": [6, 350, 1], "n0A": 99, "n0": 100,
                          "n": 1000, "alpha": 0.001, "seed": 0, "n_used": 1000, "procedure": "cohen"})
    out = semi_elastic_frame(frame, 64, 0.01)
    write_certification(out, tmp_path / "semi_elastic.tsv")
    written = read_certification(tmp_path / "semi_elastic.tsv")
    assert list(written.columns) == CERTIFY_COLUMNS
    assert written["c_hat"].tolist() == [1, 3, 2] and written["nB"].tolist() == [6, 350, 1]
    pA = pA_lower_bound(np.array([990, 400, 999]), 1000, 0.001)
    assert out["radius"].iloc[1] == 0.0
    assert out["radius"].iloc[0] == pytest.approx(semi_elastic_radius(pA[0], 0.5, 64, 0.01))
    assert np.all(out["radius"].to_numpy() <= frame["sigma"].to_numpy() * norm.ppf(np.maximum(pA, 0.5)) + 1e-12)
    for column in ("nA", "c_hat"):
        with pytest.raises(ValueError, match=column):
            semi_elastic_frame(frame.drop(columns=[column]), 64, 0.01)


# ------------------------------------------------------------------------------------------------ kNN sigma

def test_knn_distance_matches_brute_force_and_excludes_self():
    rng = np.random.default_rng(1)
    train = torch.from_numpy(rng.random((50, 1, 2, 3))).float()
    queries = torch.from_numpy(rng.random((7, 1, 2, 3))).float()
    brute = np.linalg.norm(queries.flatten(1).numpy()[:, None] - train.flatten(1).numpy()[None], axis=2)
    expected = np.sort(brute, axis=1)[:, :4].mean(axis=1)
    assert knn_distance(queries, train, 4, chunk=3) == pytest.approx(expected, rel=1e-6)
    own = knn_distance(train[:5], train, 4, exclude_self=True)
    self_brute = np.sort(np.linalg.norm(train.flatten(1).numpy()[:5, None] - train.flatten(1).numpy()[None], axis=2),
                         axis=1)[:, 1:5].mean(axis=1)
    assert own == pytest.approx(self_brute, rel=1e-6)
    with pytest.raises(ValueError, match="k"):
        knn_distance(queries, train, 50, exclude_self=True)


def test_log_sigma_is_r_lipschitz():
    rng = np.random.default_rng(2)
    train = torch.from_numpy(rng.random((40, 8))).float()
    a = torch.from_numpy(rng.random((200, 8))).float()
    b = a + 0.3 * torch.from_numpy(rng.standard_normal((200, 8))).float()
    r = 0.7
    sigma_a = knn_sigma(knn_distance(a, train, 5), 0.5, r, 1.0)
    log_ratio = np.log(sigma_a / knn_sigma(knn_distance(b, train, 5), 0.5, r, 1.0))
    assert np.all(np.abs(log_ratio) <= r * (a - b).norm(dim=1).numpy() + 1e-9)
    with pytest.raises(ValueError, match="sigma_b"):
        knn_sigma(np.ones(2), 0.0, 0.01, 1.0)


def test_assignment_table_on_digits():
    train = training_tensors({"name": "digits", "num_classes": 10})
    assert train.shape == (1097, 1, 8, 8)
    test_x, test_y = train[:6] + 0.01, np.arange(6)
    settings = KnnSigmaSettings(k=20, r=0.01, sigma_b=0.5)
    table, meta = assign_knn_sigma(test_x, test_y, np.arange(10, 16), train, settings)
    assert list(table.columns[:4]) == ["idx", "label", "level", "sigma"]
    assert (table["level"] == -1).all() and table["idx"].tolist() == list(range(10, 16))
    m = reference_distance(train, 20)
    assert meta["m"] == pytest.approx(m) and meta["dim"] == 64
    assert table["sigma"].to_numpy() == pytest.approx(0.5 * np.exp(0.01 * (table["knn_dist"].to_numpy() - m)))
