"""Sequential CERTIFY (:mod:`insta_rs.certification.sequential`): settings and schedule; validity computed exactly by
dynamic programming, with a negative control the same check rejects; the batched engine's false-certificate
rate on a classifier whose smoothed probability is known in closed form; the cap bound; and results that
do not depend on the batch size or the order of the examples."""

import itertools

import numpy as np
import pytest
import torch
from analytic import LinearBinary
from scipy.stats import binom, norm

from insta_rs.certification.noise import NOISE_BLOCK
from insta_rs.certification.procedures import Cohen, Sequential, procedure_from_config, procedure_from_label
from insta_rs.certification.sequential import Reading, Schedule, SequentialRule, false_certificate_probability
from insta_rs.certification.sequential_settings import MODES, TABLE_RADII, SequentialSettings
from insta_rs.certification.smoothing import ABSTAIN, Smoother
from insta_rs.certification.stats import pA_lower_bound

# pA exactly at certified thresholds (sigma = 1): 1/2 (radius 0), Phi(r) for table radii r, and near the cap
# of N = 5000 (alpha ** (1 / N) = 0.9986 at alpha = 0.001)
THRESHOLDS = (0.5, norm.cdf(0.25), norm.cdf(1.0), norm.cdf(2.25), 0.995)


def naive_rule(rule: SequentialRule, alpha: float) -> SequentialRule:
    """The negative control: the same rounds and stopping rule, but plain Clopper-Pearson at level alpha
    re-tested after every round (no union bound)."""
    ends = rule.schedule.ends
    return SequentialRule(Schedule(ends, np.full(len(ends), alpha)), rule.settings)


def test_settings_defaults_validation_and_label():
    assert SequentialSettings.from_dict(None) == SequentialSettings()
    assert SequentialSettings().label() == "sequential:radius:rel0.02:100x1.25:cap0.5"
    decision = SequentialSettings.from_dict({"mode": "decision", "radii": [0.5, 0.25]})
    assert decision.radii == (0.0, 0.25, 0.5)
    assert decision.label() == "sequential:decision:r0,0.25,0.5:100x1.25:cap0.5"
    with pytest.raises(ValueError, match=r"certify\.sequential\.tolerence: unknown key"):
        SequentialSettings.from_dict({"tolerence": 0.01})
    for bad in ({"mode": "fast"}, {"growth": 1.0}, {"cap_share": 1.0}, {"tolerance_kind": "percent"},
                {"first_round": 0}, {"radii": [-1.0]}, {"tolerance": -0.1}):
        with pytest.raises(ValueError, match=rf"certify\.sequential\.{next(iter(bad))}"):
            SequentialSettings.from_dict(bad)
    variants = [{}, {"tolerance": 0.03}, {"tolerance_kind": "absolute"}, {"first_round": 50}, {"growth": 1.5},
                {"cap_share": 0.6}, {"mode": "decision"}, {"mode": "decision", "radii": [1.0]}]
    labels = {SequentialSettings(**variant).label() for variant in variants}
    assert len(labels) == len(variants)  # a resumed run can tell every setting apart


def test_schedule_ends_at_the_cap_in_whole_blocks_and_spends_at_most_alpha():
    schedule = Schedule.geometric(100_000, 0.001, 100, 1.25, 0.5)
    ends = schedule.ends
    assert ends[0] == 100 and ends[-1] == schedule.cap == 100_000 and np.all(np.diff(ends) > 0)
    assert np.all(ends[ends >= NOISE_BLOCK] % NOISE_BLOCK == 0)
    assert np.all(ends[1:] / ends[:-1] <= 2.2)  # geometric: no round more than about doubles the samples
    assert schedule.alphas.sum() == pytest.approx(0.001, rel=1e-12) and schedule.alphas[-1] == 0.0005
    one_round = Schedule.geometric(50, 0.01, 100, 1.25, 0.5)
    assert one_round.ends.tolist() == [50] and one_round.alphas.tolist() == [0.01]


def test_dynamic_program_matches_direct_computation():
    """One round is fixed-N CERTIFY: P(L > p) summed over the counts directly. Two rounds with a stopping
    rule: every pair of counts enumerated."""
    p = 0.8
    fixed = SequentialRule(Schedule(np.array([200]), np.array([0.05])))
    counts = np.arange(201)
    direct = binom.pmf(counts, 200, p)[pA_lower_bound(counts, 200, 0.05) > p].sum()
    assert false_certificate_probability(p, fixed) == pytest.approx(direct, rel=1e-9)

    rule = SequentialRule(Schedule(np.array([30, 80]), np.array([0.1, 0.1])),
                          SequentialSettings(mode="decision", radii=(0.5,)))
    sigma, enumerated = 0.6, 0.0
    for first, second in itertools.product(range(31), range(51)):
        crossed_first = rule.schedule.lower(0, first) > p
        crossed_second = not rule.stop(0, first, sigma) and rule.schedule.lower(1, first + second) > p
        if crossed_first or crossed_second:
            enumerated += binom.pmf(first, 30, p) * binom.pmf(second, 50, p)
    stops_early = [rule.stop(0, count, sigma) for count in range(31)]
    assert any(stops_early) and not all(stops_early)  # the stopping rule matters in this example
    assert false_certificate_probability(p, rule, sigma) == pytest.approx(enumerated, rel=1e-9)


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.05])
def test_exact_false_certificate_probability_is_at_most_alpha(alpha):
    """At pA exactly at a certified threshold, the exact probability that the procedure (rounds, bounds
    and stopping rules, both modes) ever reports a lower bound above pA is at most alpha; stopping only
    removes chances to err, so it is at most the error of running every path to the cap."""
    for p in THRESHOLDS:
        for mode in MODES:
            rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 5000, alpha)
            unstopped = false_certificate_probability(p, rule, sigma=1.0, stopping=False)
            assert false_certificate_probability(p, rule, sigma=1.0) <= unstopped + 1e-12
            assert unstopped <= alpha
        assert unstopped > alpha / 20  # the check is not vacuous: the union bound is loose, not empty


@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_plain_clopper_pearson_retested_every_round_fails_the_same_check(alpha):
    for p, mode in itertools.product((0.5, norm.cdf(1.0)), MODES):
        rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 5000, alpha)
        assert false_certificate_probability(p, naive_rule(rule, alpha), sigma=1.0) > 3 * alpha


def test_repeated_testing_inflation_of_forty_looks():
    """Forty equally spaced looks at 100, 200, ..., 4000 samples, pA = 1/2: plain Clopper-Pearson at 0.05
    errs with probability 0.24. The two-sided interval at 0.05 (0.025 per side; the sides are disjoint
    but for paths crossing both) errs with about twice the one-sided error at 0.025, 0.28: the ~0.3 of
    repeated significance tests (Armitage et al. 1969, normal theory, 0.31 near 40 looks), a little
    below it because Clopper-Pearson is conservative."""
    ends = np.arange(1, 41) * 100
    one_sided = false_certificate_probability(0.5, SequentialRule(Schedule(ends, np.full(40, 0.05))), stopping=False)
    per_side = false_certificate_probability(0.5, SequentialRule(Schedule(ends, np.full(40, 0.025))), stopping=False)
    assert 0.22 < one_sided < 0.26
    assert 0.26 < 2 * per_side < 0.32


def tiny_linear(distance: float, n_examples: int) -> tuple[LinearBinary, torch.Tensor]:
    """A 2x2-pixel linear classifier (cheap noise) and ``n_examples`` copies of the input at ``distance``."""
    model = LinearBinary(torch.tensor([[[0.6, -0.8], [0.0, 0.0]]]), bias=0.1)
    return model, model.at_distance(np.full(n_examples, distance))


@pytest.mark.parametrize("mode", MODES)
def test_engine_false_certificate_rate_is_the_exact_probability(mode):
    """The real batched engine on M = 500 inputs at distance 0.5 from the boundary, sigma = 1, so
    pA = Phi(0.5) exactly at the table threshold r = 0.5; alpha = 0.1, cap N = 2000. A certificate is
    false when pA_lower > pA, i.e. when the radius exceeds the true distance. The rate must lie within
    alpha + 3 SE (SE = sqrt(alpha (1 - alpha) / M) = 0.013) and within 4 binomial SE of the dynamic
    program's exact value (about 0.06); the negative control (plain Clopper-Pearson each round, exact
    value about 0.3) must exceed alpha + 3 SE, so a rate above alpha shows."""
    n_examples, alpha, distance = 500, 0.1, 0.5
    model, x = tiny_linear(distance, n_examples)
    sigma, idx = np.ones(n_examples), np.arange(n_examples)
    assert np.allclose(model.distance(x), distance, atol=1e-6)
    pA = norm.cdf(distance)
    rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 2000, alpha)
    limit = alpha + 3 * np.sqrt(alpha * (1 - alpha) / n_examples)
    for tested, valid in ((rule, True), (naive_rule(rule, alpha), False)):
        result = Smoother(model, 2, 16_000).certify_sequential(x, sigma, idx, 100, 0, tested)
        assert np.all(result.c_hat == 1)
        false_rate = np.mean(result.pA_lower > pA)
        exact = false_certificate_probability(pA, tested, sigma=1.0)
        assert abs(false_rate - exact) <= 4 * np.sqrt(exact * (1 - exact) / n_examples)
        assert np.array_equal(result.radius >= distance, result.pA_lower >= pA)
        assert (false_rate <= limit) == valid


def test_radius_never_exceeds_the_fixed_n_cap():
    """With every sample in class A, no round's bound beats fixed-N CERTIFY's alpha ** (1 / N); an input far
    from the boundary runs to the cap on the very samples of fixed-N CERTIFY (same noise), and its radius
    stays below CERTIFY's."""
    for n, alpha in ((100_000, 0.001), (5000, 0.01)):
        schedule = SequentialRule.from_settings(SequentialSettings(), n, alpha).schedule
        all_in_A = [float(schedule.lower(k, end)) for k, end in enumerate(schedule.ends)]
        assert max(all_in_A) <= alpha ** (1 / n) and max(all_in_A) == all_in_A[-1]
    model, x = tiny_linear(6.0, 3)
    sigma, idx, n = np.full(3, 0.5), np.arange(3), 3000
    rule = SequentialRule.from_settings(SequentialSettings(), n, 0.001)
    sequential = Smoother(model, 2, 1000).certify_sequential(x, sigma, idx, 100, 4, rule)
    cohen = Smoother(model, 2, 1000).certify(x, sigma, idx, 100, n, 0.001, 4)
    assert np.all(sequential.n_used == n) and np.array_equal(sequential.nA, cohen.nA) and np.all(cohen.nA == n)
    assert np.all(sequential.radius < cohen.radius)
    assert np.all(cohen.radius <= 0.5 * norm.ppf(0.001 ** (1 / n)) + 1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_every_result_is_independent_of_batch_size_and_order(linear_model, linear_inputs, mode):
    """Per-example sigma, a cap of 20000: every field, the stopping point n_used included, is the same at
    every batch size and in reversed order; selection is exactly fixed-N CERTIFY's."""
    sigma = np.linspace(0.25, 1.0, len(linear_inputs))
    idx = np.arange(100, 100 + len(linear_inputs))
    rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 20000, 0.001)
    reference = Smoother(linear_model, 2, 4096).certify_sequential(linear_inputs, sigma, idx, 100, 7, rule)
    small = Smoother(linear_model, 2, 333).certify_sequential(linear_inputs, sigma, idx, 100, 7, rule)
    flipped = Smoother(linear_model, 2, 777).certify_sequential(linear_inputs.flip(0), sigma[::-1].copy(),
                                                                idx[::-1].copy(), 100, 7, rule)
    for name in ("predict", "radius", "pA_lower", "c_hat", "nA", "nB", "n0A", "n_used"):
        assert np.array_equal(getattr(small, name), getattr(reference, name)), name
        assert np.array_equal(getattr(flipped, name)[::-1], getattr(reference, name)), name
    cohen = Smoother(linear_model, 2, 4096).certify(linear_inputs, sigma, idx, 100, 20000, 0.001, 7)
    assert np.array_equal(reference.c_hat, cohen.c_hat) and np.array_equal(reference.n0A, cohen.n0A)
    assert np.all(np.isin(reference.n_used, rule.schedule.ends)) and reference.n_used.min() < 20000
    certified = reference.predict != ABSTAIN
    if mode == "decision":
        assert np.all(np.isin(reference.radius, TABLE_RADII))
        assert np.all(reference.pA_lower[certified] >= norm.cdf(reference.radius[certified] / sigma[certified]))


def test_procedures_are_named_once():
    assert procedure_from_config({}) == Cohen() and Cohen().label == "cohen"
    sequential = procedure_from_config({"procedure": "sequential", "sequential": {"tolerance": 0.05}})
    assert sequential == Sequential(SequentialSettings(tolerance=0.05))
    assert sequential.label == "sequential:radius:rel0.05:100x1.25:cap0.5"
    with pytest.raises(ValueError, match=r"certify\.procedure = 'fast'"):
        procedure_from_config({"procedure": "fast"})


# ------------------------------------------------------------------------------------------ readings at other levels
# The readings the workflow makes of a level's certification: the alpha/K envelope (1/16), the cascade (1/32, also
# with a threshold p0 above 1/2) and Dual RS's classifier (1/2).
READINGS = (Reading(1 / 16), Reading(1 / 32), Reading(1 / 32, 0.6), Reading(0.5))


def reading_thresholds(reading: Reading, sigma: float = 1.0) -> list[float]:
    """pA exactly at the reading's certified thresholds: p0 (radius 0) and Phi(r / sigma + PhiInv(p0))."""
    return [float(norm.cdf(r / sigma + norm.ppf(reading.p0))) for r in (0.0, 0.25, 1.0, 2.25)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_a_bound_recomputed_at_a_reading_is_valid_at_the_stopping_round(mode, alpha):
    """Exactly, by dynamic programming over the implemented rounds and stopping rule (which settles every reading):
    at pA exactly at each of the reading's thresholds, the probability that the reading's bound at the stopping
    round (every round's level scaled by the reading's share) exceeds pA is at most share * alpha."""
    rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 5000, alpha, READINGS)
    for reading in READINGS:
        for p in reading_thresholds(reading):
            error = false_certificate_probability(p, rule, sigma=1.0, reading=reading)
            assert error <= reading.share * alpha, (reading, p, error)


@pytest.mark.parametrize("mode", MODES)
def test_recomputing_with_the_round_levels_of_alpha_fails_the_same_check(mode):
    """The negative control: the reading's bound at the stopping round with the rounds' levels of alpha itself (not
    scaled to the reading's share). The same check rejects it: at a threshold its error exceeds share * alpha."""
    alpha = 0.05
    rule = SequentialRule.from_settings(SequentialSettings(mode=mode), 5000, alpha, READINGS)
    for reading in (Reading(1 / 16), Reading(1 / 32, 0.6)):
        of_alpha = Schedule(rule.schedule.ends, rule.schedule.alphas / reading.share)  # scaled back to alpha's
        errors = [false_certificate_probability(p, rule, sigma=1.0, reading=reading, recomputed_with=of_alpha)
                  for p in reading_thresholds(reading)]
        assert max(errors) > 2 * reading.share * alpha, (reading, errors)


def test_settling_the_readings_only_adds_samples():
    """A rule with readings stops no earlier than one without (it also waits for each reading), so the reading-free
    rule's certificate at the own level is never better."""
    plain = SequentialRule.from_settings(SequentialSettings(mode="decision"), 5000, 0.001)
    reading = SequentialRule.from_settings(SequentialSettings(mode="decision"), 5000, 0.001, READINGS)
    for k in range(len(plain.schedule.ends)):
        counts = np.arange(plain.schedule.ends[k] + 1)
        assert np.all(plain.stop(k, counts, 1.0) | ~reading.stop(k, counts, 1.0))


def test_labels_carry_the_readings_and_rebuild_the_procedure():
    sequential = Sequential(SequentialSettings(mode="decision", radii=(0.5,)), (Reading(1 / 16), Reading(1 / 32, 0.6)))
    assert sequential.label == "sequential:decision:r0,0.5:100x1.25:cap0.5:read0.0625,0.03125p0.6"
    assert procedure_from_label(sequential.label) == sequential
    assert procedure_from_label(Sequential().label) == Sequential() and procedure_from_label("cohen") == Cohen()
    assert procedure_from_config({"procedure": "sequential"}, [Reading(), Reading(0.5)]).label.endswith(":read0.5")
    with pytest.raises(ValueError, match="not a sequential procedure's label"):
        procedure_from_label("sequential:fast")
