"""The soft smoothed classifier and its label-based approximate radius (Eq. 4), for training.

``g_soft(x, sigma) = mean_j softmax f(x + sigma * eps_j)`` with ``m`` noise vectors ``eps_j``.
Every level of one example reuses the same ``eps_j`` (common random numbers), which makes the
comparison between neighbouring levels far less noisy.
"""

from __future__ import annotations

import torch
from torch import nn


def draw_noise(x: torch.Tensor, m: int, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise ``[B, m, *x.shape[1:]]`` from ``generator`` (on ``x``'s device)."""
    return torch.randn((x.shape[0], m, *x.shape[1:]), generator=generator, device=x.device, dtype=x.dtype)


def per_example(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a per-example vector ``[B]`` to broadcast against ``x`` of shape ``[B, ...]``."""
    return values.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))


@torch.no_grad()
def soft_scores(model: nn.Module, x: torch.Tensor, sigmas: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``g_soft(x_i, sigmas[i, k])`` for every example and level: ``[B, K, C]`` mean softmax.

    ``sigmas`` is ``[B, K]``; ``noise`` is ``[B, m, ...]`` and shared by the K levels of an example.
    One forward pass of ``B * m`` inputs per level.
    """
    batch, m = noise.shape[:2]
    scores = []
    for k in range(sigmas.shape[1]):
        noisy = x.unsqueeze(1) + per_example(sigmas[:, k], noise) * noise
        logits = model(noisy.reshape(batch * m, *x.shape[1:]))
        scores.append(torch.softmax(logits.float(), dim=1).view(batch, m, -1).mean(dim=1))
    return torch.stack(scores, dim=1)


def label_cr_hat(p_label: torch.Tensor, sigma: torch.Tensor, p_max: float) -> torch.Tensor:
    """Label-based radius ``CR_hat(x, y, sigma) = sigma * PhiInv(g_soft_y)`` (float64).

    ``g_soft_y`` is clamped to ``[1 - p_max, p_max]`` first, so the radius is finite.
    """
    return sigma.double() * torch.special.ndtri(p_label.double().clamp(1.0 - p_max, p_max))
