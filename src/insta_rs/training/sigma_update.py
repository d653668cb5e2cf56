"""Algorithm 2, stage I: the per-example noise-level update of Insta-RS Train, vectorized over a batch.

Levels ``l = 1..T`` stand for ``sigma^2 = l * sigma0^2``. With ``g_cur = g_soft(x, sigma_l)`` and
``g_fur = g_soft(x, sigma_{l+1})`` (m2 noise vectors, shared by both levels):

- ``argmax g_cur != y``                                           -> ``l = max(l - 1, 1)`` (one level down);
- else ``argmax g_fur == y`` and ``CR_hat(x, y, sigma_l) < CR_hat(x, y, sigma_{l+1})`` -> ``l = min(l + 1, T)``;
- otherwise ``l`` stays.

The paper prints ``min`` on the decrease and ``max`` on the increase line; that would jump to a bound
at once, contradicting its text ("decrease", "increase", a bound set by L and the number of epochs), so
the clamps are read as above.
"""

from __future__ import annotations

import torch
from torch import nn

from insta_rs.levels import NoiseLevels
from insta_rs.training.example_levels import levels_to_sigma
from insta_rs.training.soft import draw_noise, label_cr_hat, level_soft_scores


def next_levels(levels: torch.Tensor, labels: torch.Tensor, pred_cur: torch.Tensor, pred_fur: torch.Tensor,
                cr_cur: torch.Tensor, cr_fur: torch.Tensor, n_levels: int) -> torch.Tensor:
    """The decision rule of Algorithm 2 (lines 6-10) with the clamps ``max(l-1, 1)`` and ``min(l+1, T)``."""
    down = pred_cur != labels
    up = ~down & (pred_fur == labels) & (cr_cur < cr_fur)
    return torch.where(down, (levels - 1).clamp(min=1), torch.where(up, (levels + 1).clamp(max=n_levels), levels))


@torch.no_grad()
def update_levels(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, levels: torch.Tensor,
                  noise_levels: NoiseLevels, m2: int, p_max: float, generator: torch.Generator) -> torch.Tensor:
    """New levels ``[B]`` (int64) for a batch; the model is evaluated in eval mode and left as it was."""
    sigma0, n_levels = noise_levels.sigma0, noise_levels.n_levels
    was_training = model.training
    model.eval()
    sigma_cur = levels_to_sigma(levels, sigma0)
    sigma_fur = levels_to_sigma(levels + 1, sigma0)
    scores = level_soft_scores(model, x, torch.stack([sigma_cur, sigma_fur], dim=1), draw_noise(x, m2, generator))
    model.train(was_training)
    p_label = scores.gather(2, labels.view(-1, 1, 1).expand(-1, 2, 1)).squeeze(2)
    return next_levels(levels, labels, scores[:, 0].argmax(dim=1), scores[:, 1].argmax(dim=1),
                       label_cr_hat(p_label[:, 0], sigma_cur, p_max), label_cr_hat(p_label[:, 1], sigma_fur, p_max),
                       n_levels)
