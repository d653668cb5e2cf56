"""SmoothAdv (Salman et al. 2019): adversarial training of the soft smoothed classifier (Eq. 6).

The attack is L2 PGD on ``-log(mean_j softmax_y f(x + delta + sigma_i * eps_j))`` with ``m_train``
noise vectors per example that share one ``delta`` and stay fixed over all steps; ``delta`` starts at
0, each step moves ``2 * eps_i / steps`` along the per-example normalized gradient, then ``x + delta`` is
clipped to the [0, 1] box and ``delta`` projected onto the L2 ball of radius ``eps_i`` (scaling towards
0 keeps ``x + delta`` inside the box). Insta-RS uses ``eps_i = 2 * sigma_i`` (B.2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from insta_rs.certification.smoothing import per_example
from insta_rs.training.soft import draw_noise


def soft_classifier_loss(model: nn.Module, x_adv: torch.Tensor, labels: torch.Tensor,
                         noise: torch.Tensor) -> torch.Tensor:
    """Per-example ``-log(mean_j softmax_y f(x_adv + noise_j))``; ``noise`` is ``[B, m, ...]`` (already scaled)."""
    batch, m = noise.shape[:2]
    logits = model((x_adv.unsqueeze(1) + noise).reshape(batch * m, *x_adv.shape[1:]))
    probs = torch.softmax(logits.float(), dim=1).view(batch, m, -1).mean(dim=1)
    return -torch.log(probs.gather(1, labels.view(-1, 1)).squeeze(1).clamp_min(1e-20))


def smoothadv_attack(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, noise: torch.Tensor,
                     eps: torch.Tensor, steps: int) -> torch.Tensor:
    """The perturbation ``delta`` (``[B, ...]``, detached) of L2 PGD against the soft smoothed classifier.

    ``eps`` is the per-example radius ``[B]``; an example whose gradient is zero does not move.
    """
    step_size = per_example(2.0 * eps / steps, x)
    radius = eps.to(x.dtype)
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = soft_classifier_loss(model, x + delta, labels, noise).sum()
        grad, = torch.autograd.grad(loss, delta)
        grad_norm = grad.flatten(1).norm(dim=1)
        with torch.no_grad():
            delta = delta + step_size * grad / per_example(grad_norm.clamp_min(1e-12), x)
            delta = (x + delta).clamp(0.0, 1.0) - x
            delta_norm = delta.flatten(1).norm(dim=1)
            delta = delta * per_example((radius / delta_norm.clamp_min(1e-12)).clamp(max=1.0), x)
    return delta.detach()


def smoothadv_loss(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor,
                   eps: torch.Tensor, m_train: int, steps: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy over all ``m_train`` noisy adversarial copies (attack run in eval mode, same noise).

    Returns the mean loss and the number of correct predictions divided by ``m_train`` (so that it
    counts examples).
    """
    noise = draw_noise(x, m_train, generator)
    noise = noise * per_example(sigma, noise)
    was_training = model.training
    model.eval()
    delta = smoothadv_attack(model, x, labels, noise, eps, steps)
    model.train(was_training)
    batch = x.shape[0]
    logits = model((x + delta).unsqueeze(1).add(noise).reshape(batch * m_train, *x.shape[1:]))
    labels_rep = labels.repeat_interleave(m_train)
    correct = (logits.argmax(dim=1) == labels_rep).sum() / m_train
    return F.cross_entropy(logits.float(), labels_rep), correct


def training_loss(stage, model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor, epoch: int,
                  generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The method's entry point (:data:`insta_rs.training.methods.METHODS`): :func:`smoothadv_loss` with
    ``eps_i = 2 sigma_i`` (``eps: adaptive``) or the fixed ``eps``, times ``min(1, epoch / warmup)``."""
    options = stage.options
    warmup = min(1.0, epoch / options["warmup"]) if options["warmup"] > 0 else 1.0
    eps = 2.0 * sigma if options["eps"] == "adaptive" else torch.full_like(sigma, options["eps"])
    return smoothadv_loss(model, x, labels, sigma, eps * warmup, options["m_train"], options["steps"], generator)
