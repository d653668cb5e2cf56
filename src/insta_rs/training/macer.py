"""MACER (Zhai et al. 2020): certified-radius maximization, each example with its own sigma_i.

With ``k`` noisy copies per example and logits ``z_ij``:

- classification loss ``cl = sum_i -log(mean_j softmax(z_ij)_{y_i} + 1e-10)``;
- robustness loss, over examples whose top-1 of ``q_i = mean_j softmax(beta * z_ij)`` is ``y_i`` and whose
  term ``PhiInv(p2_i) - PhiInv(p1_i)`` (p1, p2 the top two of ``q_i``) is finite and inside [-gamma, gamma]:
  ``rl = sum_i sigma_i / 2 * (PhiInv(p2_i) - PhiInv(p1_i) + gamma)``;
- total ``(cl + lambda * rl) / B``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from insta_rs.certification.smoothing import per_example
from insta_rs.training.soft import draw_noise


def macer_loss_from_logits(logits: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor, macer_lambda: float,
                           gamma: float, beta: float) -> torch.Tensor:
    """The MACER objective for logits ``[B, k, C]`` of the noisy copies."""
    batch = logits.shape[0]
    logits = logits.float()
    mean_probs = torch.softmax(logits, dim=2).mean(dim=1)
    classification = F.nll_loss(torch.log(mean_probs + 1e-10), labels, reduction="sum")
    top2_probs, top2_classes = torch.softmax(beta * logits, dim=2).mean(dim=1).topk(2, dim=1)
    with torch.no_grad():
        margin = torch.special.ndtri(top2_probs[:, 1]) - torch.special.ndtri(top2_probs[:, 0])
        hinged = (top2_classes[:, 0] == labels) & torch.isfinite(margin) & (margin.abs() <= gamma)
    # PhiInv is recomputed on the selected examples only: its gradient at p = 0 or 1 is infinite (0 * inf = nan)
    p1, p2 = top2_probs[hinged, 0], top2_probs[hinged, 1]
    robustness = (sigma[hinged] / 2 * (torch.special.ndtri(p2) - torch.special.ndtri(p1) + gamma)).sum()
    return (classification + macer_lambda * robustness) / batch


@dataclass(frozen=True)
class MacerSettings:
    """MACER's hyperparameters: ``k`` Gaussian copies per example, the weight ``macer_lambda`` of the robustness
    term, its hinge ``gamma`` and the inverse temperature ``beta``."""

    k: int
    macer_lambda: float
    gamma: float
    beta: float


def macer_loss(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor, settings: MacerSettings,
               generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """MACER loss on ``settings.k`` Gaussian copies of each example; also the number of correct soft predictions."""
    k = settings.k
    noise = draw_noise(x, k, generator)
    noisy = x.unsqueeze(1) + per_example(sigma, noise) * noise
    logits = model(noisy.reshape(x.shape[0] * k, *x.shape[1:])).view(x.shape[0], k, -1)
    correct = (torch.softmax(logits.float(), dim=2).mean(dim=1).argmax(dim=1) == labels).sum()
    return macer_loss_from_logits(logits, labels, sigma, settings.macer_lambda, settings.gamma, settings.beta), correct


def training_loss(stage, model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor, epoch: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The method's entry point (:data:`insta_rs.training.methods.METHODS`): :func:`macer_loss`."""
    options = stage.options
    settings = MacerSettings(options["k"], options["lambda"], options["gamma"], options["beta"])
    return macer_loss(model, x, labels, sigma, settings, generator)
