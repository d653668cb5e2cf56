"""The soft smoothed classifier of Eq. 4 and its label-based approximate radius, for training.

``g_soft(x, sigma) = mean_j softmax f(x + sigma * eps_j)`` (:func:`insta_rs.certification.smoothing.soft_scores`, the same
implementation as at test time) with ``m`` noise vectors ``eps_j`` from the training loop's generator. Every
level of one example reuses the same ``eps_j`` (common random numbers), which makes the comparison between
neighbouring levels far less noisy.
"""

from __future__ import annotations

import torch
from torch import nn

from insta_rs.certification.smoothing import soft_scores


def draw_noise(x: torch.Tensor, m: int, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise ``[B, m, *x.shape[1:]]`` from ``generator`` (on ``x``'s device)."""
    return torch.randn((x.shape[0], m, *x.shape[1:]), generator=generator, device=x.device, dtype=x.dtype)


@torch.no_grad()
def level_soft_scores(model: nn.Module, x: torch.Tensor, sigmas: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """:func:`insta_rs.certification.smoothing.soft_scores` (Eq. 4) of every example at each of its K levels, ``[B, K, C]``:
    ``sigmas`` is ``[B, K]``, ``noise`` ``[B, m, ...]`` shared by the K levels of an example."""
    return torch.stack([soft_scores(model, x, sigmas[:, k], noise) for k in range(sigmas.shape[1])], dim=1)


def label_cr_hat(p_label: torch.Tensor, sigma: torch.Tensor, p_max: float) -> torch.Tensor:
    """Label-based radius ``CR_hat(x, y, sigma) = sigma * PhiInv(g_soft_y)`` (float64).

    ``g_soft_y`` is clamped to ``[1 - p_max, p_max]`` first, so the radius is finite.
    """
    return sigma.double() * torch.special.ndtri(p_label.double().clamp(1.0 - p_max, p_max))
