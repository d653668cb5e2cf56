"""Algorithm 2 stage I: every branch of the level update, both clamps, and the p_max clamp of CR_hat."""

import math
from statistics import NormalDist

import pytest
import torch
from torch import nn

from insta_rs.levels import NoiseLevels
from insta_rs.training.sigma_update import next_levels, update_levels
from insta_rs.training.soft import label_cr_hat

T = 16


def test_next_levels_every_branch_and_both_clamps():
    levels = torch.tensor([3, 1, 5, 16, 7, 4, 6])
    labels = torch.zeros(7, dtype=torch.long)
    pred_cur = torch.tensor([1, 1, 0, 0, 0, 0, 0])   # first two wrong under the current level
    pred_fur = torch.tensor([0, 0, 0, 0, 2, 0, 0])   # example 4 wrong one level up
    cr_cur = torch.tensor([0.0, 0.0, 0.5, 0.5, 0.5, 0.7, 0.9], dtype=torch.float64)
    cr_fur = torch.tensor([9.0, 9.0, 0.6, 0.6, 0.9, 0.7, 0.8], dtype=torch.float64)
    new = next_levels(levels, labels, pred_cur, pred_fur, cr_cur, cr_fur, T)
    # down 3->2; down clamped at 1; up 5->6; up clamped at T; fur wrong: stay; equal CR: stay; CR falls: stay
    assert new.tolist() == [2, 1, 6, 16, 7, 4, 6]


class ConstantLogits(nn.Module):
    """Ignores its input: the same logits for every noisy copy, so g_soft is known exactly."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


def run_update(logits, labels, levels, p_max=0.99993):
    model = ConstantLogits(logits).train()
    x = torch.rand(len(labels), 1, 2, 2)
    new = update_levels(model, x, torch.tensor(labels), torch.tensor(levels), NoiseLevels(0.25, T), 8, p_max,
                        torch.Generator().manual_seed(0))
    assert model.training  # mode restored
    return new.tolist()


def test_update_levels_with_known_soft_classifier():
    # softmax (0.7, 0.2, 0.1): label 0 correct at every level, PhiInv(0.7) > 0 so CR grows with sigma -> up;
    # label 1 wrong -> down (clamped at 1 for the last example)
    logits = [math.log(0.7), math.log(0.2), math.log(0.1)]
    assert run_update(logits, [0, 0, 1, 1], [1, 16, 5, 1]) == [2, 16, 4, 1]
    # softmax (0.4, 0.35, 0.25): label 0 is the top class but PhiInv(0.4) < 0, so CR falls with sigma -> stay
    logits = [math.log(0.4), math.log(0.35), math.log(0.25)]
    assert run_update(logits, [0, 0], [1, 9]) == [1, 9]


def test_saturated_probability_is_clamped_so_the_level_still_rises():
    # p_y = 1: unclamped, CR would be +inf at both levels (no increase); clamped, sigma decides -> up
    assert run_update([100.0, 0.0], [0, 0], [1, 15]) == [2, 16]


def test_label_cr_hat_clamps_to_p_max():
    p_max = 0.001 ** (1 / 100000)
    p_label = torch.tensor([1.0, 0.8, 0.0], dtype=torch.float64)
    radius = label_cr_hat(p_label, torch.tensor([1.0, 0.5, 1.0], dtype=torch.float64), p_max).tolist()
    assert radius[0] == pytest.approx(NormalDist().inv_cdf(p_max), rel=1e-9)
    assert radius[0] == pytest.approx(3.8115, abs=1e-3)
    assert radius[1] == pytest.approx(0.5 * NormalDist().inv_cdf(0.8), rel=1e-9)
    assert radius[2] == pytest.approx(NormalDist().inv_cdf(1 - p_max), rel=1e-9)
