"""The exact counterexample to the Insta-RS radius (ball classifier, d = 3072), checked independently, and the
sound modes on the same classifier."""

import numpy as np
import pytest
from scipy.stats import norm

from insta_rs.certification.stats import max_certifiable_p
from insta_rs.levels import sigma_levels
from insta_rs.sound.falsify import (
    CLASS_A,
    CLASS_B,
    FalsificationSettings,
    ball_probability,
    cascade_along,
    describe,
    falsify,
    find_counterexample,
    insta_rs_rule,
    semi_elastic_along,
    violations_along,
)

DIM, RHO = 3072, 60.0
SIGMAS = sigma_levels(0.25, 16)
P_MAX = max_certifiable_p(0.001, 100000)


def monte_carlo_ball(distance, rho, sigma, dim, n_samples, seed):
    """Fraction of ``x + sigma eps`` inside the ball of radius rho around b = 0, with x = (distance, 0, ...)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_samples // 2000):
        z = sigma * rng.standard_normal((2000, dim))
        z[:, 0] += distance
        hits += int(np.sum(np.sum(z * z, axis=1) <= rho ** 2))
    return hits / n_samples


@pytest.mark.parametrize("dim,distance,rho,sigma", [(5, 0.7, 1.0, 0.4), (5, 1.3, 1.0, 0.6), (20, 0.5, 2.0, 0.4)])
def test_ball_probability_matches_monte_carlo_in_low_dimension(dim, distance, rho, sigma):
    n_samples = 100_000
    estimate = monte_carlo_ball(distance, rho, sigma, dim, n_samples, seed=3)
    exact = float(ball_probability(distance, rho, sigma, dim))
    assert 0.05 < exact < 0.95
    assert estimate == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / n_samples))


def test_ball_probability_matches_monte_carlo_at_the_counterexample_scale():
    # d = 3072, sigma = 1 at distance 23 from b, where the ball's probability is near one half
    n_samples = 20_000
    exact = float(ball_probability(23.0, RHO, 1.0, DIM))
    estimate = monte_carlo_ball(23.0, RHO, 1.0, DIM, n_samples, seed=4)
    assert 0.3 < exact < 0.7
    assert estimate == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / n_samples))


def test_rule_picks_the_largest_clamped_radius():
    assert norm.ppf(P_MAX) == pytest.approx(3.8115, abs=1e-4)
    p_b = np.array([[0.99, 0.6, 0.2, 1.0]])  # radii 0.25*2.33, 0.5*0.25, 0.75*0.84 (class A), 1.0*3.81 clamped
    decision = insta_rs_rule(p_b, np.array([0.25, 0.5, 0.75, 1.0]), P_MAX)
    assert decision.level[0] == 4 and decision.predict[0] == CLASS_B
    assert decision.radius[0] == pytest.approx(norm.ppf(P_MAX))
    decision = insta_rs_rule(np.array([[0.99, 0.6, 0.01, 0.5]]), np.array([0.25, 0.5, 0.75, 1.0]), P_MAX)
    assert decision.level[0] == 3 and decision.predict[0] == CLASS_A
    assert decision.radius[0] == pytest.approx(0.75 * norm.ppf(0.99))


def test_counterexample_breaks_the_insta_rs_radius():
    t_grid = np.linspace(0.0, 2 * RHO, 121)
    found = find_counterexample(RHO, DIM, SIGMAS, P_MAX, t_grid)
    assert found is not None
    # check the pair independently of the search: recompute the rule at both points from scratch
    for t, cls, radius, sigma in ((found.t1, found.class1, found.radius1, found.sigma1),
                                  (found.t2, found.class2, found.radius2, found.sigma2)):
        p_b = ball_probability(t, RHO, SIGMAS, DIM)
        scores = SIGMAS * np.minimum(norm.ppf(np.maximum(p_b, 1 - p_b)), norm.ppf(P_MAX))
        best = int(np.argmax(scores))
        assert scores[best] == pytest.approx(radius) and SIGMAS[best] == pytest.approx(sigma)
        assert cls == (CLASS_B if p_b[best] > 0.5 else CLASS_A)
    assert found.class1 != found.class2
    assert found.radius1 > 1.0 and found.radius2 > 1.0
    assert found.distance < 1e-3 < found.radius1
    # Cohen's fixed-sigma statement at x1 is true: g_{sigma1} still answers class1 at x2
    assert found.fixed_sigma_class2 == found.class1
    assert ball_probability(found.t2, RHO, found.sigma1, DIM) > 0.5


def test_a_fixed_sigma_rule_has_no_counterexample():
    """The search reports nothing for a sound rule (one level): the counterexample is not an artefact."""
    t_grid = np.linspace(0.0, 2 * RHO, 121)
    for sigma in (0.5, 1.0):
        assert find_counterexample(RHO, DIM, np.array([sigma]), P_MAX, t_grid) is None


def test_sound_modes_keep_their_answers_within_their_radii():
    t_grid = np.linspace(20.0, 60.0, 161)  # dense around the class switches of all modes
    rule = insta_rs_rule(ball_probability(t_grid[:, None], RHO, SIGMAS[None, :], DIM), SIGMAS, P_MAX)
    assert violations_along(t_grid, rule.predict, rule.radius) > 0
    for p0 in (0.5, 0.9):
        predict, radius = cascade_along(t_grid, RHO, DIM, SIGMAS, P_MAX, p0)
        assert set(np.unique(predict)) >= {CLASS_A, CLASS_B} and radius.max() > 1.0
        assert violations_along(t_grid, predict, radius) == 0
    coarse = t_grid[::4]
    predict, radius = semi_elastic_along(coarse, RHO, DIM, sigma_b=0.5, r=0.01, m=RHO / 2, p_max=P_MAX)
    assert set(np.unique(predict)) == {CLASS_A, CLASS_B} and radius.max() > 1.0
    assert violations_along(coarse, predict, radius) == 0


def test_violation_count_counts_pairs_within_the_claimed_radius():
    t = np.array([0.0, 1.0, 2.0])
    assert violations_along(t, np.array([0, 1, 1]), np.array([1.5, 0.5, 0.5])) == 1
    assert violations_along(t, np.array([-1, 1, 1]), np.array([0.0, 0.5, 0.5])) == 0


def test_report_text_names_the_pair():
    report = falsify(FalsificationSettings(n_points=61))
    assert report.counterexample is not None and report.rule_violations > 0
    assert report.cascade_violations == 0 and report.semi_elastic_violations == 0 and report.dual_violations == 0
    text = describe(report, DIM, RHO)
    assert "claims radius" in text and "| cascade (sound) | 0 |" in text and "| Dual RS (sound) | 0 |" in text
