import numpy as np
import pytest
from scipy.stats import beta, norm
from statsmodels.stats.proportion import proportion_confint

from insta_rs.certification.stats import (
    cohen_radius,
    max_certifiable_p,
    p_upper_bound,
    pA_lower_bound,
    phi_inv_clamped,
    predict_pvalue,
)


@pytest.mark.parametrize("nA,n,alpha", [(990, 1000, 0.001), (100000, 100000, 0.001), (51, 100, 0.05), (1, 10, 0.01)])
def test_lower_bound_matches_beta_and_statsmodels(nA, n, alpha):
    expected = beta.ppf(alpha, nA, n - nA + 1)
    assert pA_lower_bound(nA, n, alpha) == pytest.approx(expected, rel=1e-12)
    lower, _ = proportion_confint(nA, n, alpha=2 * alpha, method="beta")
    assert pA_lower_bound(nA, n, alpha) == pytest.approx(lower, rel=1e-9)


def test_lower_bound_zero_count_and_vectorized():
    bounds = pA_lower_bound(np.array([0, 5, 10]), 10, 0.001)
    assert bounds[0] == 0.0
    assert 0 < bounds[1] < 0.5 < bounds[2] < 1


def test_upper_bound_is_mirror_of_lower():
    assert p_upper_bound(10, 1000, 0.001) == pytest.approx(1 - pA_lower_bound(990, 1000, 0.001), rel=1e-9)
    assert p_upper_bound(7, 7, 0.01) == 1.0


def test_cohen_radius_and_cap():
    assert cohen_radius(0.5, 0.49) == 0.0
    assert cohen_radius(0.5, 0.5) == 0.0
    assert cohen_radius(0.5, 0.9) == pytest.approx(0.5 * norm.ppf(0.9))
    cap = cohen_radius(1.0, pA_lower_bound(100000, 100000, 0.001))
    assert cap == pytest.approx(3.8115, abs=1e-4)  # the documented cap for nA = N = 1e5
    assert pA_lower_bound(100000, 100000, 0.001) == pytest.approx(max_certifiable_p(0.001, 100000))


def test_phi_inv_clamped_is_finite():
    values = phi_inv_clamped(np.array([0.0, 0.5, 1.0]), p_max=0.999)
    assert np.all(np.isfinite(values))
    assert values[1] == 0.0 and values[2] == pytest.approx(norm.ppf(0.999))


def test_predict_pvalue():
    assert predict_pvalue(60, 40) == pytest.approx(0.056887, abs=1e-5)
    assert predict_pvalue(0, 0) == 1.0
