"""An exact counterexample: the Insta-RS radius does not certify the deployed instance-wise classifier.

Base classifier in ``R^d``: class B (1) inside the L2 ball of radius ``rho`` around ``b``, class A (0) outside.
Its Gaussian smoothing is known in closed form: ``|x + sigma eps - b|^2 / sigma^2`` is noncentral chi-square,

    P[f(x + sigma eps) = B] = ncx2.cdf(rho^2 / sigma^2, df=d, nc=|x - b|^2 / sigma^2).

The Insta-RS rule with exact probabilities (Algorithm 1's criterion evaluated at every level, i.e. grid
search): at each level ``sigma_k = sqrt(k) sigma0`` the top class and ``CR_k = sigma_k min(PhiInv(p_top), z_max)``
(``z_max = PhiInv(alpha^(1/N)) = 3.8115`` at alpha = 0.001, N = 1e5, the largest certifiable value); deploy the
level with the largest ``CR_k`` and claim radius ``CR_k``. Along the ray from ``b`` the rule switches class at
some distance while claiming a positive radius on both sides, so two points closer than the claimed radius
get different answers: the radius is a statement about ``g_{sigma(x)}`` only (Appendix C's "asymmetric
robustness"), not about the deployed ``x -> g_{sigma(x)}(x)``. The sound modes (:mod:`.cascade`,
:mod:`.semi_elastic`, :mod:`.dual`) keep their answers within their radii on the same classifier.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy.stats import ncx2, norm

from insta_rs.certification.stats import max_certifiable_p, phi_inv_clamped
from insta_rs.levels import sigma_levels
from insta_rs.sound.cascade import LevelBounds, cascade_from_bounds
from insta_rs.sound.dual import DualCertificate, combine
from insta_rs.sound.knn_sigma import knn_sigma
from insta_rs.sound.semi_elastic import semi_elastic_radius

CLASS_A, CLASS_B = 0, 1


def ball_probability(distance: np.ndarray, rho: float, sigma: np.ndarray, dim: int) -> np.ndarray:
    """``P[f(x + sigma eps) = B] = ncx2.cdf(rho^2/sigma^2, d, |x - b|^2/sigma^2)`` for ``distance = |x - b|``."""
    distance, sigma = np.broadcast_arrays(np.asarray(distance, dtype=float), np.asarray(sigma, dtype=float))
    return ncx2.cdf(rho ** 2 / sigma ** 2, dim, distance ** 2 / sigma ** 2)


@dataclass
class RuleDecision:
    """The Insta-RS rule at a set of points (arrays over points)."""

    predict: np.ndarray  # class at the chosen level
    radius: np.ndarray   # claimed radius sigma_k * min(PhiInv(p_top), z_max)
    level: np.ndarray    # chosen level, 1-based


def insta_rs_rule(p_b: np.ndarray, sigmas: np.ndarray, p_max: float) -> RuleDecision:
    """Apply the rule to exact probabilities ``p_b[point, level]`` of class B (ties: the smallest level)."""
    p_b = np.atleast_2d(p_b)
    top = np.maximum(p_b, 1.0 - p_b)
    score = sigmas[None, :] * phi_inv_clamped(top, p_max)
    chosen = score.argmax(axis=1)
    rows = np.arange(len(p_b))
    return RuleDecision(predict=np.where(p_b[rows, chosen] > 0.5, CLASS_B, CLASS_A),
                        radius=score[rows, chosen], level=chosen + 1)


@dataclass
class Counterexample:
    """Two points on the ray from ``b`` (distances ``t1``, ``t2`` from ``b``) closer than the claimed radius."""

    t1: float
    t2: float
    class1: int
    class2: int
    radius1: float
    sigma1: float
    radius2: float
    sigma2: float
    fixed_sigma_class2: int  # g_{sigma1}(x2): Cohen's fixed-sigma claim at x1 does hold there

    @property
    def distance(self) -> float:
        return abs(self.t2 - self.t1)


def find_counterexample(rho: float, dim: int, sigmas: np.ndarray, p_max: float, t_grid: np.ndarray,
                        tol: float = 1e-4) -> Counterexample | None:
    """Scan the rule along ``t_grid`` (distances from ``b``), bisect the first class switch down to ``tol``,
    and return the pair if the switch lies within the claimed radius of either side (else None)."""
    def decide(t: np.ndarray) -> RuleDecision:
        return insta_rs_rule(ball_probability(np.asarray(t)[:, None], rho, sigmas[None, :], dim), sigmas, p_max)

    grid = decide(t_grid)
    switches = np.flatnonzero(np.diff(grid.predict) != 0)
    for i in switches:
        low, high = float(t_grid[i]), float(t_grid[i + 1])
        low_class = grid.predict[i]
        while high - low > tol:
            middle = 0.5 * (low + high)
            if decide(np.array([middle])).predict[0] == low_class:
                low = middle
            else:
                high = middle
        pair = decide(np.array([low, high]))
        if high - low < max(pair.radius):
            sigma1 = float(sigmas[pair.level[0] - 1])
            fixed = ball_probability(high, rho, sigma1, dim) > 0.5
            return Counterexample(t1=low, t2=high, class1=int(pair.predict[0]), class2=int(pair.predict[1]),
                                  radius1=float(pair.radius[0]), sigma1=sigma1, radius2=float(pair.radius[1]),
                                  sigma2=float(sigmas[pair.level[1] - 1]),
                                  fixed_sigma_class2=CLASS_B if fixed else CLASS_A)
    return None


def violations_along(t_grid: np.ndarray, predict: np.ndarray, radius: np.ndarray) -> int:
    """Pairs ``(i, j)`` on the ray with ``|t_i - t_j| < radius_i``, ``predict_i`` not an abstention, and
    ``predict_j != predict_i``: the number of broken claims."""
    distance = np.abs(t_grid[:, None] - t_grid[None, :])
    inside = distance < radius[:, None]
    differs = predict[None, :] != predict[:, None]
    return int(np.sum(inside & differs & (predict[:, None] >= 0)))


def cascade_along(t_grid: np.ndarray, rho: float, dim: int, sigmas: np.ndarray, p_max: float,
                  p0: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Cascade certificate (exact probabilities as bounds, capped at ``p_max``) at each point: predict, radius."""
    descending = np.sort(sigmas)[::-1]
    p_b = ball_probability(t_grid[None, :], rho, descending[:, None], dim)
    top_class = np.where(p_b > 0.5, CLASS_B, CLASS_A)
    top = np.maximum(p_b, 1.0 - p_b)
    bounds = LevelBounds(sigma=descending, top_class=top_class, top_lower=np.minimum(top, p_max),
                         other_upper=1.0 - top, any_upper=top)
    result = cascade_from_bounds(bounds, p0)
    return result.predict, result.radius


def dual_along(t_grid: np.ndarray, rho: float, dim: int, sigmas: tuple[float, float], rho_sel: float,
               sigma_sel: float, p_max: float) -> DualCertificate:
    """Dual RS certificate (exact probabilities as bounds, capped at ``p_max``) at each point. The selector is a
    ball classifier too: candidate 0 (``sigmas[0]``) inside the L2 ball of radius ``rho_sel`` around ``b``,
    candidate 1 outside, smoothed at ``sigma_sel`` (exact: :func:`ball_probability`); the classifier is the ball
    classifier smoothed at the chosen candidate."""
    p_first = ball_probability(t_grid, rho_sel, sigma_sel, dim)
    choice = np.where(p_first > 0.5, 0, 1)
    selector_radius = sigma_sel * norm.ppf(np.minimum(np.maximum(p_first, 1.0 - p_first), p_max))
    sigma = np.asarray(sigmas, dtype=float)[choice]
    p_b = ball_probability(t_grid, rho, sigma, dim)
    classifier_radius = sigma * norm.ppf(np.minimum(np.maximum(p_b, 1.0 - p_b), p_max))
    return combine(choice, selector_radius, np.where(p_b > 0.5, CLASS_B, CLASS_A), classifier_radius)


def semi_elastic_along(t_grid: np.ndarray, rho: float, dim: int, sigma_b: float, r: float, m: float,
                       p_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Semi-elastic certificate at each point with ``sigma(x) = sigma_b exp(r (|x - b| - m))`` (1-NN distance
    to the one "training point" ``b``): predict, radius."""
    sigma = knn_sigma(t_grid, sigma_b, r, m)
    p_b = ball_probability(t_grid, rho, sigma, dim)
    predict = np.where(p_b > 0.5, CLASS_B, CLASS_A)
    top = np.minimum(np.maximum(p_b, 1.0 - p_b), p_max)
    radius = np.array([semi_elastic_radius(float(p), float(s), dim, r) for p, s in zip(top, sigma)])
    return predict, radius


@dataclass
class FalsificationReport:
    """The counterexample and the sound modes' broken claims on the same ray (expected: 0)."""

    counterexample: Counterexample | None
    rule_violations: int
    cascade_violations: int
    semi_elastic_violations: int
    dual_violations: int
    n_points: int


@dataclass(frozen=True)
class FalsificationSettings:
    """The ball classifier (``dim``, ``rho``), the paper's levels (``sigma0``, ``n_levels``) and CERTIFY's ``alpha``
    and ``n``, the ray's ``n_points`` in ``[0, t_max]``, and the sound modes: semi-elastic ``sigma_b`` and ``r``, the
    cascade's ``p0``, Dual RS's candidate ``dual_levels`` and ``sigma_sel``."""

    dim: int = 3072
    rho: float = 60.0
    sigma0: float = 0.25
    n_levels: int = 16
    alpha: float = 0.001
    n: int = 100000
    t_max: float = 120.0
    n_points: int = 241
    sigma_b: float = 0.5
    r: float = 0.01
    p0: float = 0.5
    dual_levels: tuple[int, int] = (1, 16)
    sigma_sel: float = 0.5


def falsify(settings: FalsificationSettings = FalsificationSettings()) -> FalsificationReport:
    """Run the counterexample search and check the Insta-RS rule and the sound modes along the ray.

    Dual RS (:func:`dual_along`) chooses between ``settings.dual_levels``; its selector switches where the two levels'
    classes differ: the smoothed ball classifier answers B roughly while ``t^2 + sigma^2 d < rho^2``
    (``|x + sigma eps - b|^2`` has mean ``t^2 + sigma^2 d``), so the selector's ball is put at the squared midpoint
    ``t_sel^2 = rho^2 - d (sigma_a^2 + sigma_b^2) / 2``, i.e. ``rho_sel^2 = t_sel^2 + sigma_sel^2 d``.
    """
    dim, rho, n_points, sigma_sel = settings.dim, settings.rho, settings.n_points, settings.sigma_sel
    sigmas = sigma_levels(settings.sigma0, settings.n_levels)
    dual_sigmas = sigmas[np.asarray(settings.dual_levels) - 1]
    rho_sel = float(np.sqrt(max(rho ** 2 - dim * np.sum(dual_sigmas ** 2) / 2, 0.0) + sigma_sel ** 2 * dim))
    p_max = max_certifiable_p(settings.alpha, settings.n)
    t_grid = np.linspace(0.0, settings.t_max, n_points)
    rule = insta_rs_rule(ball_probability(t_grid[:, None], rho, sigmas[None, :], dim), sigmas, p_max)
    cascade_predict, cascade_radius = cascade_along(t_grid, rho, dim, sigmas, p_max, settings.p0)
    semi_predict, semi_radius = semi_elastic_along(t_grid, rho, dim, settings.sigma_b, settings.r, rho / 2, p_max)
    dual = dual_along(t_grid, rho, dim, tuple(dual_sigmas), rho_sel, sigma_sel, p_max)
    return FalsificationReport(
        counterexample=find_counterexample(rho, dim, sigmas, p_max, t_grid),
        rule_violations=violations_along(t_grid, rule.predict, rule.radius),
        cascade_violations=violations_along(t_grid, cascade_predict, cascade_radius),
        semi_elastic_violations=violations_along(t_grid, semi_predict, semi_radius),
        dual_violations=violations_along(t_grid, dual.predict, dual.radius),
        n_points=n_points,
    )


def describe(report: FalsificationReport, dim: int, rho: float) -> str:
    """A Markdown account of the report."""
    lines = [f"# Insta-RS radius vs the deployed classifier: exact counterexample (d = {dim}, rho = {rho})", ""]
    ce = report.counterexample
    if ce is None:
        lines.append("No class switch within a claimed radius was found on this ray.")
    else:
        names = {CLASS_A: "A (outside the ball)", CLASS_B: "B (inside the ball)"}
        lines += [
            f"- x1 at |x1 - b| = {ce.t1:.4f}: the rule picks sigma = {ce.sigma1:.4f}, answers {names[ce.class1]}, "
            f"claims radius {ce.radius1:.4f}.",
            f"- x2 at |x2 - b| = {ce.t2:.4f}: the rule picks sigma = {ce.sigma2:.4f}, answers {names[ce.class2]}, "
            f"claims radius {ce.radius2:.4f}.",
            f"- |x1 - x2| = {ce.distance:.2e} < the claimed radius, yet the answers differ.",
            f"- The fixed-sigma claim at x1 holds: g_(sigma = {ce.sigma1:.4f})(x2) = {names[ce.fixed_sigma_class2]}.",
        ]
    lines += ["", f"Broken claims among {report.n_points} points on the ray (pairs closer than the claimed radius "
              "with different answers):", "",
              "| mode | broken claims |", "|---|---|",
              f"| Insta-RS rule (paper's radius) | {report.rule_violations} |",
              f"| cascade (sound) | {report.cascade_violations} |",
              f"| semi-elastic (sound) | {report.semi_elastic_violations} |",
              f"| Dual RS (sound) | {report.dual_violations} |", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``python -m insta_rs.sound.falsify [--dim 3072 --rho 60]``: print the counterexample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=3072)
    parser.add_argument("--rho", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(describe(falsify(FalsificationSettings(dim=args.dim, rho=args.rho)), args.dim, args.rho))


if __name__ == "__main__":
    main()
