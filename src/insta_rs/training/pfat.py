"""PFAT baseline (as the Insta-RS paper ran it, sigma_i in [sigma_1, sigma_T]).

Stage 1 trains with every example's level drawn uniformly from 1..T, afresh for each batch; then a
grid search assigns each training example the level with the largest label-based ``CR_hat`` among the
levels where the soft prediction ``argmax g_soft`` is correct (level 1 when there is none); stage 2
fine-tunes with those levels fixed.
"""

from __future__ import annotations

import logging
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from insta_rs.levels import NoiseLevels
from insta_rs.runtime.runlog import Progress
from insta_rs.training.example_levels import levels_to_sigma
from insta_rs.training.soft import draw_noise, label_cr_hat, level_soft_scores

logger = logging.getLogger(__name__)


def random_levels(batch: int, n_levels: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``batch`` levels drawn uniformly from 1..n_levels (int64)."""
    return torch.randint(1, n_levels + 1, (batch,), generator=generator, device=device)


@torch.no_grad()
def grid_levels(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma0: float, n_levels: int, m2: int,
                p_max: float, generator: torch.Generator) -> torch.Tensor:
    """Grid assignment for a batch: argmax over correct levels of ``CR_hat(x, y, sigma_l)``, else level 1.

    All T levels of an example share its ``m2`` noise vectors; ties go to the smaller level.
    """
    all_levels = torch.arange(1, n_levels + 1, device=x.device)
    sigmas = levels_to_sigma(all_levels, sigma0).expand(x.shape[0], -1)
    scores = level_soft_scores(model, x, sigmas, draw_noise(x, m2, generator))
    correct = scores.argmax(dim=2) == labels.view(-1, 1)
    p_label = scores.gather(2, labels.view(-1, 1, 1).expand(-1, n_levels, 1)).squeeze(2)
    cr_hat = label_cr_hat(p_label, sigmas, p_max).masked_fill(~correct, float("-inf"))
    return torch.where(correct.any(dim=1), cr_hat.argmax(dim=1) + 1, torch.ones_like(labels))


def assign_levels(model: nn.Module, train_set: Dataset, noise_levels: NoiseLevels, m2: int, p_max: float,
                  batch_size: int, seed: int, device: torch.device) -> tuple[torch.Tensor, float]:
    """Levels ``[N]`` for an indexed training set (items ``(x, y, index)``) and the wall seconds it took."""
    sigma0, n_levels = noise_levels.sigma0, noise_levels.n_levels
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    levels = torch.ones(len(train_set), dtype=torch.int64)
    progress = Progress(logger, len(train_set), "training examples assigned")
    start = time.perf_counter()
    for x, labels, index in DataLoader(train_set, batch_size=batch_size, shuffle=False):
        levels[index] = grid_levels(model, x.to(device), labels.to(device), sigma0, n_levels, m2, p_max,
                                    generator).cpu()
        progress.update(len(index))
    seconds = time.perf_counter() - start
    logger.info("PFAT grid assignment of %d examples over %d levels took %.2f s", len(train_set), n_levels, seconds)
    return levels, seconds
