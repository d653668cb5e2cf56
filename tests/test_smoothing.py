import numpy as np
import pytest
import torch
from scipy.stats import norm

from insta_rs.levels import sigma_levels
from insta_rs.noise import ESTIMATION, NOISE_BLOCK, noise_blocks, noise_key
from insta_rs.smoothing import ABSTAIN, Smoother


def test_sigma_levels_are_cascading():
    sigmas = sigma_levels(0.25, 16)
    assert sigmas[0] == 0.25 and sigmas[3] == 0.5 and sigmas[15] == 1.0
    assert np.allclose(np.diff(sigmas ** 2), 0.25 ** 2)


def test_noise_does_not_depend_on_how_it_is_drawn():
    generator = torch.Generator()
    first = torch.cat(list(noise_blocks((3,), NOISE_BLOCK + 7, noise_key(5, 11, ESTIMATION), generator)))
    again = torch.cat(list(noise_blocks((3,), NOISE_BLOCK + 7, noise_key(5, 11, ESTIMATION), generator)))
    other_example = torch.cat(list(noise_blocks((3,), NOISE_BLOCK + 7, noise_key(5, 12, ESTIMATION), generator)))
    assert torch.equal(first, again)
    assert not torch.equal(first, other_example)
    assert abs(first.mean().item()) < 0.1 and abs(first.std().item() - 1) < 0.05


def test_counts_match_closed_form_probability(linear_model, linear_inputs):
    smoother = Smoother(linear_model, num_classes=2, batch_size=777)
    sigma = np.full(len(linear_inputs), 0.5)
    counts = smoother.sample_counts(linear_inputs, sigma, np.arange(len(linear_inputs)), 4000, 0, ESTIMATION)
    p_class1 = norm.cdf(linear_model.distance(linear_inputs) / 0.5)
    standard_error = np.sqrt(p_class1 * (1 - p_class1) / 4000) + 1e-3
    assert np.all(np.abs(counts[:, 1] / 4000 - p_class1) < 5 * standard_error)


def test_soft_scores_of_hard_model_are_frequencies(linear_model, linear_inputs):
    scores = Smoother(linear_model, 2, 500).soft_scores(linear_inputs[:5], np.full(5, 0.3), np.arange(5), 200, 3)
    assert scores.shape == (5, 2)
    assert np.allclose(scores.sum(axis=1), 1.0)


def test_radius_below_distance_and_tight_for_large_n(linear_model, linear_inputs):
    """Certified radii never exceed the true distance to the boundary (up to rate alpha) and approach
    it as N grows: radius = sigma PhiInv(pA_lower) with pA = Phi(distance / sigma)."""
    distance = np.abs(linear_model.distance(linear_inputs))
    sigma = np.full(len(linear_inputs), 0.5)
    smoother = Smoother(linear_model, 2, batch_size=5000)
    idx = np.arange(len(linear_inputs))
    small = smoother.certify(linear_inputs, sigma, idx, n0=100, n=1000, alpha=0.001, seed=0)
    large = smoother.certify(linear_inputs, sigma, idx, n0=100, n=100000, alpha=0.001, seed=0)
    for result in (small, large):
        assert np.all(result.radius <= distance + 1e-9)
        predicted_side = np.where(linear_model.distance(linear_inputs) > 0, 1, 0)
        certified = result.predict != ABSTAIN
        assert np.all(result.predict[certified] == predicted_side[certified])
    confident = distance < 0.5 * 2.5  # below the cap sigma * PhiInv(alpha ** (1 / N)) of N = 1000
    assert np.mean(distance[confident] - large.radius[confident]) < np.mean(distance[confident] - small.radius[confident])
    assert np.max((distance - large.radius)[distance < 1.5]) < 0.05


def test_abstains_when_classes_are_balanced(linear_model):
    on_boundary = torch.zeros(1, 1, 8, 8)
    on_boundary.view(-1)[0] = -linear_model.bias / linear_model.weight[0]
    result = Smoother(linear_model, 2, 1000).certify(on_boundary, np.array([0.5]), np.array([0]),
                                                     n0=100, n=2000, alpha=0.001, seed=0)
    assert result.predict[0] == ABSTAIN and result.radius[0] == 0.0
    assert result.pA_lower[0] < 0.5


def test_result_independent_of_batch_size_and_batch_mates(linear_model, linear_inputs):
    sigma = np.linspace(0.25, 1.0, len(linear_inputs))
    idx = np.arange(100, 100 + len(linear_inputs))
    together = Smoother(linear_model, 2, batch_size=4096).certify(linear_inputs, sigma, idx, 100, 3000, 0.001, 7)
    for row in (0, 17, 39):
        alone = Smoother(linear_model, 2, batch_size=333).certify(
            linear_inputs[row:row + 1], sigma[row:row + 1], idx[row:row + 1], 100, 3000, 0.001, 7)
        assert alone.nA[0] == together.nA[row] and alone.predict[0] == together.predict[row]


def test_predict_abstains_or_answers(linear_model, linear_inputs):
    far = linear_inputs[np.argmax(np.abs(linear_model.distance(linear_inputs)))][None]
    prediction = Smoother(linear_model, 2, 1000).predict(far, np.array([0.25]), np.array([0]), 1000, 0.001, 0)
    assert prediction[0] == int(linear_model.distance(far)[0] > 0)


@pytest.mark.parametrize("precision", [torch.bfloat16])
def test_autocast_path_runs_on_cpu(linear_model, linear_inputs, precision):
    smoother = Smoother(linear_model, 2, 1000, autocast_dtype=precision)
    counts = smoother.sample_counts(linear_inputs[:3], np.full(3, 0.5), np.arange(3), 500, 0, ESTIMATION)
    assert counts.sum() == 1500


def test_common_noise_couples_levels_and_independent_noise_does_not(linear_model, linear_inputs):
    """With common random numbers a scale-free classifier sees identical draws at every sigma."""
    smoother = Smoother(linear_model, 2, 1000)
    x = linear_inputs[:1].repeat(2, 1, 1, 1)
    sigma, idx = np.array([0.5, 0.5 + 1e-3]), np.array([0, 0])
    common = smoother.soft_scores(x, sigma, idx, 300, 0, common_noise=True)
    independent = smoother.soft_scores(x, sigma, idx, 300, 0, common_noise=False)
    assert abs(common[0, 1] - common[1, 1]) <= 2 / 300
    assert not np.allclose(independent[0], independent[1])
