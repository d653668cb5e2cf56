"""Empirical audit of a certification file's claims: search inputs within each claimed radius for a different
answer of the *deployed* classifier (the one a user queries, which for Insta-RS re-runs the sigma search at
every input).

For each certified test example ``x`` (class ``c``, radius ``R > 0``) the candidates ``x'`` are

- line points: ``x + t u`` for ``t = shrink R i / n_line`` (i = 1..n_line), ``u`` the unit direction to each of
  the ``n_neighbors`` nearest test points whose label differs from ``c``;
- gradient points: ``steps`` steps of L2-normalized ascent on a differentiable surrogate
  (default :func:`criterion_margin_loss`: Algorithm 1's criterion for the other classes minus that for ``c``,
  in a logit form that does not saturate), step ``2 shrink R / steps``, projected onto the ball of radius
  ``shrink R`` and the box ``[0, 1]`` (the box projection is nonexpansive and fixes ``x``, so the point stays
  in the ball). Line points are projected the same way.

A candidate *violates* the claim when the deployed classifier answers a class other than ``c`` there
(abstentions are counted apart: a Monte Carlo prediction may abstain anywhere). A violating example is
*confirmed* when one of its violating candidates gives a class other than ``c`` again with fresh noise. A
sound certificate can show violations only through Monte Carlo error of the deployed prediction (rate about
its alpha); the audit is a lower bound on the violations that exist, never a proof of soundness.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from insta_rs.certification.records import ABSTAIN
from insta_rs.runtime.runlog import Progress
from insta_rs.sound.deployed import DeployedPredict

logger = logging.getLogger(__name__)

SurrogateLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class AuditSettings:
    """How hard to search (``sound.audit`` config)."""

    n_examples: int = 50
    n_neighbors: int = 3
    n_line: int = 8
    steps: int = 5
    shrink: float = 0.999
    seed: int = 0
    box: tuple[float, float] | None = (0.0, 1.0)  # the input domain (pixel values); None for unbounded toys


def project(x0: torch.Tensor, x: torch.Tensor, radius: float, box: tuple[float, float] | None = (0.0, 1.0)
            ) -> torch.Tensor:
    """Onto the L2 ball of ``radius`` around ``x0``, then onto the ``box`` (if any)."""
    delta = x - x0
    norm = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))
    inside = x0 + delta * torch.clamp(radius / norm, max=1.0)
    return inside if box is None else inside.clamp(*box)


def line_candidates(x: torch.Tensor, radius: float, others: torch.Tensor, n_line: int, shrink: float,
                    box: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """Points ``x + t u`` towards each row of ``others``, ``t = shrink R i / n_line``; ``[len(others) * n_line, ...]``."""
    if len(others) == 0:
        return x.new_zeros((0, *x.shape))
    direction = others - x[None]
    direction = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * x.dim())
    steps = shrink * radius * torch.arange(1, n_line + 1, dtype=x.dtype) / n_line
    points = x[None, None] + steps.view(1, -1, *[1] * x.dim()) * direction[:, None]
    return project(x[None], points.flatten(0, 1), shrink * radius, box)


def gradient_candidates(x: torch.Tensor, cls: int, radius: float, loss_fn: SurrogateLoss, steps: int,
                        shrink: float, box: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """The iterates of ``steps`` normalized-gradient ascent steps on ``loss_fn`` inside the ball; ``[steps, ...]``."""
    bound = shrink * radius
    step_size = 2.0 * bound / max(steps, 1)
    current = x[None].detach().clone()
    target = torch.tensor([cls])
    iterates = []
    for _ in range(steps):
        current.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(current, target).sum(), current)
        grad_norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * x.dim())
        current = project(x[None], current.detach() + step_size * grad / grad_norm, bound, box)
        iterates.append(current[0].clone())
    return torch.stack(iterates) if iterates else x.new_zeros((0, *x.shape))


def audit_frame(x_test: torch.Tensor, labels: np.ndarray, certification: pd.DataFrame, positions: np.ndarray,
                deployed_predict: DeployedPredict, loss_fn: SurrogateLoss | None,
                settings: AuditSettings) -> pd.DataFrame:
    """Audit the certified rows of ``certification`` (``positions[i]`` = row of ``x_test`` for its row ``i``).

    Returns one row per audited example: ``idx predict radius n_candidates n_changed n_abstain violated
    confirmed closest`` (closest = distance of the nearest violating candidate divided by the radius).
    """
    certified = np.flatnonzero((certification["predict"].to_numpy() >= 0)
                               & (certification["radius"].to_numpy(dtype=float) > 0))
    chosen = np.sort(np.random.default_rng(settings.seed).permutation(certified)[:settings.n_examples])
    flat_test = x_test.flatten(1)
    rows, progress = [], Progress(logger, len(chosen), "certified examples audited")
    for count, row in enumerate(chosen, start=1):
        cls = int(certification["predict"].iloc[row])
        radius = float(certification["radius"].iloc[row])
        x = x_test[positions[row]]
        distances = (flat_test - x.flatten()).norm(dim=1).numpy()
        other = np.flatnonzero(labels != cls)
        nearest = other[np.argsort(distances[other], kind="stable")[:settings.n_neighbors]]
        candidates = [line_candidates(x, radius, x_test[nearest], settings.n_line, settings.shrink, settings.box)]
        if loss_fn is not None and settings.steps > 0:
            candidates.append(gradient_candidates(x, cls, radius, loss_fn, settings.steps, settings.shrink,
                                                  settings.box))
        points = torch.cat(candidates).detach()
        answers = deployed_predict(points)
        changed = (answers != cls) & (answers != ABSTAIN)
        confirmed = False
        if changed.any():
            again = deployed_predict(points[torch.as_tensor(np.flatnonzero(changed))])
            confirmed = bool(np.any((again != cls) & (again != ABSTAIN)))
        offsets = (points - x[None]).flatten(1).norm(dim=1).numpy()
        rows.append({"idx": int(certification["idx"].iloc[row]), "predict": cls, "radius": radius,
                     "n_candidates": len(points), "n_changed": int(changed.sum()),
                     "n_abstain": int(np.sum(answers == ABSTAIN)), "violated": bool(changed.any()),
                     "confirmed": confirmed,
                     "closest": float(offsets[changed].min() / radius) if changed.any() else np.nan})
        logger.info("audit %d/%d: idx %d radius %.3f: %d of %d candidates changed the answer", count, len(chosen),
                    rows[-1]["idx"], radius, rows[-1]["n_changed"], len(points))
        progress.update()
    return pd.DataFrame(rows, columns=["idx", "predict", "radius", "n_candidates", "n_changed", "n_abstain",
                                       "violated", "confirmed", "closest"])


def summarize(per_example: pd.DataFrame, model: str, mode: str, n_certified: int) -> dict:
    """One table row: how many audited examples had a confirmed different answer within the claimed radius."""
    audited = len(per_example)
    return {"model": model, "mode": mode, "certified": n_certified, "audited": audited,
            "violated": int(per_example["violated"].sum()), "confirmed": int(per_example["confirmed"].sum()),
            "confirmed_rate": float(per_example["confirmed"].mean()) if audited else np.nan,
            "candidates": int(per_example["n_candidates"].sum()), "abstain": int(per_example["n_abstain"].sum()),
            "median_radius": float(per_example["radius"].median()) if audited else np.nan,
            "median_closest": float(per_example["closest"].median()) if per_example["violated"].any() else np.nan}


def markdown_table(rows: Sequence[dict]) -> str:
    """The summary rows as a Markdown table with a caption saying what a violation is."""
    header = ["model", "mode", "certified", "audited", "violated", "confirmed", "confirmed_rate", "candidates",
              "abstain", "median_radius", "median_closest"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k])
                                       for k in header) + " |")
    caption = ("Empirical audit: for each audited certified example, inputs within the claimed radius (lines to the "
               "nearest test points of other classes, and gradient steps on the search criterion) were given to the "
               "deployed classifier. violated = examples where some input got another class; confirmed = the other "
               "class again with fresh noise; median_closest = distance of the nearest violating input / radius. "
               "Zero is a lower bound, not a proof of soundness.")
    return caption + "\n\n" + "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ deployed classifiers

def criterion_margin_loss(model: torch.nn.Module, sigmas: np.ndarray, n_noise: int, seed: int = 0) -> SurrogateLoss:
    """Differentiable surrogate of Algorithm 1's criterion: ``max_k sigma_k logit(g_soft_o) - max_k sigma_k
    logit(g_soft_c)`` over the levels, ``o`` the most probable class other than ``c``, ``g_soft`` on ``n_noise``
    fixed noise vectors. The logit stands in for Eq. 4's ``PhiInv`` (same order, no saturation: computed from
    log-softmax); the loss is positive when the criterion favours a level whose top class is not ``c``."""
    generator = torch.Generator().manual_seed(seed)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    noise_cache: dict[tuple, torch.Tensor] = {}

    def logit(log_p: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
        rest = torch.logsumexp(log_p.scatter(1, cls, float("-inf")), dim=1)
        return log_p.gather(1, cls)[:, 0] - rest

    def loss_fn(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        shape = tuple(x.shape[1:])
        if shape not in noise_cache:
            noise_cache[shape] = torch.randn((n_noise, *shape), generator=generator).to(device)
        noise = noise_cache[shape]
        x, cls = x.to(device), target.to(device)[:, None]
        scores_c, scores_other = [], []
        for sigma in sigmas:
            noisy = (x[:, None] + float(sigma) * noise[None]).flatten(0, 1)
            log_softmax = torch.log_softmax(model(noisy).float(), dim=1).view(len(x), n_noise, -1)
            log_p = torch.logsumexp(log_softmax, dim=1) - float(np.log(n_noise))
            other = log_p.detach().scatter(1, cls, float("-inf")).argmax(dim=1, keepdim=True)
            scores_c.append(float(sigma) * logit(log_p, cls))
            scores_other.append(float(sigma) * logit(log_p, other))
        return torch.stack(scores_other).max(dim=0).values - torch.stack(scores_c).max(dim=0).values

    return loss_fn
