import logging

import numpy as np
import pytest
import torch
from scipy.stats import norm

from insta_rs.certification.noise import ESTIMATION, NOISE_BLOCK, draw_block, noise_blocks, noise_key
from insta_rs.certification.smoothing import ABSTAIN, Smoother
from insta_rs.levels import sigma_levels
from insta_rs.runtime.runlog import Progress


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


def test_keys_whose_32_bit_seeds_collided_draw_different_noise():
    """Block 29 of example 4960 and block 75 of example 5680 (seed 0, estimation stream): the low 32 bits of
    their former 64-bit block seeds, all that torch's CPU generator keeps of a seed, are equal, so they drew the
    same noise; keyed by the whole digest they draw different noise."""
    import hashlib
    import struct

    def former_cpu_seed(key, block):  # an 8-byte BLAKE2b digest, cut to 32 bits by torch's Mersenne Twister
        fields = (*key, block)
        return int.from_bytes(hashlib.blake2b(struct.pack(f"<{len(fields)}q", *fields), digest_size=8).digest(),
                              "little") & 0xFFFFFFFF

    first, second = (noise_key(0, 4960, ESTIMATION), 29), (noise_key(0, 5680, ESTIMATION), 75)
    assert former_cpu_seed(*first) == former_cpu_seed(*second)  # the collision the old seeding had
    generator = torch.Generator()
    a = draw_block((3, 32, 32), *first, NOISE_BLOCK, generator)
    b = draw_block((3, 32, 32), *second, NOISE_BLOCK, generator)
    assert not torch.equal(a, b) and abs(float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])) < 0.01
    assert torch.equal(a, draw_block((3, 32, 32), *first, NOISE_BLOCK, generator))  # keyed: reproducible
    assert a.dtype == torch.float32 and abs(a.mean().item()) < 0.01 and abs(a.std().item() - 1) < 0.01


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
    """With common random numbers a scale-free classifier sees (nearly) identical draws at two close sigmas of
    an example; with independent draws the two frequencies differ by sampling error (here for most of 8 inputs)."""
    smoother = Smoother(linear_model, 2, 1000)
    x = linear_inputs[:8].repeat_interleave(2, dim=0)
    sigma, idx = np.tile([0.5, 0.5 + 1e-3], 8), np.repeat(np.arange(8), 2)
    common = smoother.soft_scores(x, sigma, idx, 300, 0, common_noise=True)
    independent = smoother.soft_scores(x, sigma, idx, 300, 0, common_noise=False)
    assert np.all(np.abs(common[0::2, 1] - common[1::2, 1]) <= 2 / 300)
    assert np.sum(np.abs(independent[0::2, 1] - independent[1::2, 1]) > 2 / 300) >= 4


def test_eq4_is_one_implementation_at_test_and_training_time(linear_model, linear_inputs):
    """Training's soft scores (noise from the training loop) and the Smoother's (keyed noise) are the same
    function: fed the same noise vectors they agree exactly."""
    from insta_rs.certification.noise import SEARCH
    from insta_rs.training.soft import level_soft_scores

    x, idx, sigma = linear_inputs[:6], np.arange(6), 0.4
    test_time = Smoother(linear_model, 2, 1000).soft_scores(x, np.full(6, sigma), idx, 50, 3)
    noise = torch.stack([torch.cat(list(noise_blocks((1, 8, 8), 50, noise_key(3, int(i), SEARCH), torch.Generator())))
                         for i in idx])
    training = level_soft_scores(linear_model, x, torch.full((6, 1), sigma), noise)[:, 0]
    assert np.array_equal(test_time, training.numpy())


def test_reporting_counts_every_noisy_forward_pass_and_only_inside_the_block(linear_model, linear_inputs):
    smoother = Smoother(linear_model, num_classes=2, batch_size=128)
    x, idx = linear_inputs[:5], np.arange(5)
    with smoother.reporting(Progress(logging.getLogger("test"), 5 * 300 + 5 * 40, "forward passes")) as progress:
        smoother.sample_counts(x, np.full(5, 0.5), idx, 300, 0, ESTIMATION)   # 5 x 300 noisy samples
        smoother.soft_scores(x, np.full(5, 0.5), idx, 40, 0)                  # 5 x 40 noise vectors
    assert progress.done == 5 * 300 + 5 * 40
    smoother.sample_counts(x, np.full(5, 0.5), idx, 300, 0, ESTIMATION)
    assert progress.done == 5 * 300 + 5 * 40 and smoother.progress is None
