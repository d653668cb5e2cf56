"""Gaussian data augmentation (Cohen et al. 2019), each example noised with its own sigma_i."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from insta_rs.certification.smoothing import per_example


def gaussian_loss(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of ``f(x_i + sigma_i * eps_i)`` with ``eps_i ~ N(0, I)``; number of correct predictions."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    logits = model(x + per_example(sigma, x) * noise)
    return F.cross_entropy(logits.float(), labels), (logits.argmax(dim=1) == labels).sum()


def training_loss(stage, model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor, epoch: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The method's entry point (:data:`insta_rs.training.methods.METHODS`): :func:`gaussian_loss`."""
    return gaussian_loss(model, x, labels, sigma, generator)
