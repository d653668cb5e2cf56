"""PFAT: uniform random levels and the grid assignment on a model whose soft outputs are known per level."""

import math
from statistics import NormalDist

import torch
from torch import nn

from insta_rs.data.datasets import IndexedDataset
from insta_rs.data.sources import TensorImageDataset
from insta_rs.levels import NoiseLevels
from insta_rs.training.pfat import assign_levels, grid_levels, random_levels

SIGMA0, T = 0.25, 16


class LevelReader(nn.Module):
    """On an all-zero image the noisy input is sigma * eps, so ``s = mean(z^2) / sigma0^2`` is about the level.

    Logits ``(3 - s/2, 0, -10)``: class 0 wins below level 6, class 1 above, class 2 never.
    """

    def forward(self, z):
        s = z.pow(2).flatten(1).mean(dim=1) / SIGMA0 ** 2
        return torch.stack([3 - s / 2, torch.zeros_like(s), torch.full_like(s, -10.0)], dim=1)


def expected_level_for_label_0() -> int:
    """argmax over levels 1..5 (where class 0 wins) of sigma_l * PhiInv(p_0(l)), p_0 ~ sigmoid(3 - l/2)."""
    def p0(level):
        return 1 / (1 + math.exp(-(3 - level / 2)) + math.exp(-10 - (3 - level / 2)))
    return max(range(1, 6), key=lambda level: math.sqrt(level) * SIGMA0 * NormalDist().inv_cdf(p0(level)))


def test_grid_levels_on_known_outputs():
    assert expected_level_for_label_0() == 2
    x = torch.zeros(3, 1, 64, 64)
    labels = torch.tensor([0, 1, 2])
    levels = grid_levels(LevelReader(), x, labels, SIGMA0, T, 4, 0.99993, torch.Generator().manual_seed(0))
    # label 0: best correct level 2; label 1: p and sigma both grow up to T; label 2: never correct -> level 1
    assert levels.tolist() == [2, T, 1]


def test_assign_levels_over_an_indexed_dataset():
    images, labels = torch.zeros(5, 1, 64, 64), torch.tensor([1, 0, 2, 0, 1])
    dataset = IndexedDataset(TensorImageDataset(images, labels))
    levels, seconds = assign_levels(LevelReader(), dataset, NoiseLevels(SIGMA0, T), 4, 0.99993, batch_size=2, seed=0,
                                    device=torch.device("cpu"))
    assert levels.dtype == torch.int64 and levels.tolist() == [T, 2, 1, 2, T]
    assert seconds >= 0


def test_random_levels_are_uniform_over_all_levels():
    drawn = random_levels(16000, T, torch.Generator().manual_seed(0), torch.device("cpu"))
    counts = torch.bincount(drawn, minlength=T + 1)
    assert counts[0] == 0 and drawn.max() == T
    assert (counts[1:] - 1000).abs().max() < 150  # 1000 expected per level, sd ~ 31
