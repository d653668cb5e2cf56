"""The collapse guard (insta_rs.collapse): on a classifier that answers one class for every input once sigma exceeds a
threshold, every choice the project makes for its own rows avoids the collapsed levels, although those levels win its
criteria (ACR, Eq. 5's ACR_hat, the label-aware radius); without the guard the same choices pick them (the negative
control); a model without collapse gets exactly the unguarded choices.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from insta_rs import analysis
from insta_rs.certification.records import CERTIFY_COLUMNS
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import max_certifiable_p
from insta_rs.collapse import collapse_guard, collapsed_levels
from insta_rs.levels import level_sigma, sigma_levels
from insta_rs.search import algorithms as search
from insta_rs.sound import dual, dual_selector
from insta_rs.sound.cascade import cascade_frame
from insta_rs.sound.knn_sigma import guarded_sigma_max, knn_sigma

N_LEVELS, SIGMA0, N0, N, ALPHA, SEED = 16, 0.25, 20, 200, 0.01, 0
SHAPE = (1, 32, 32)  # 1024 pixels: the noise's mean square is sigma^2 within a few percent
N_CLASSES, COLLAPSE_CLASS = 4, 0
# Every noisy input whose mean square exceeds the clean inputs' (0.25) by more than this is answered COLLAPSE_CLASS:
# sigma^2 = 0.5 (level 8) stays below it, sigma^2 = 0.625 (level 10) and above exceed it; level 9 straddles it.
THRESHOLD = 0.5625
SEPARATION = 1.2  # L2 distance between class prototypes: radius at most 0.6 at the levels that do not collapse


class CollapsingClassifier(nn.Module):
    """The class of the nearest of ``N_CLASSES`` prototypes, except that an input whose mean square exceeds the
    prototypes' by ``threshold`` (noise of large sigma) is ``COLLAPSE_CLASS`` for certain (``threshold = inf``: a model
    without collapse)."""

    def __init__(self, prototypes: torch.Tensor, threshold: float):
        super().__init__()
        self.register_buffer("prototypes", prototypes)
        self.threshold = threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = -torch.cdist(x.flatten(1).float(), self.prototypes.flatten(1)) * 20.0
        noisy = (x.flatten(1) ** 2).mean(dim=1) - 0.25 > self.threshold
        collapsed = torch.full_like(logits, -50.0)
        collapsed[:, COLLAPSE_CLASS] = 50.0
        return torch.where(noisy[:, None], collapsed, logits)


def prototypes() -> torch.Tensor:
    """Prototypes at 0.5 +- 1/64 per pixel (mean square 0.25), rows of a Hadamard-like sign pattern scaled to
    pairwise distance SEPARATION."""
    signs = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float32)
    pattern = signs.repeat_interleave(256, dim=1)  # [4, 1024], rows orthogonal, pairwise distance 2 * sqrt(512)
    return (0.5 + pattern * SEPARATION / (2 * np.sqrt(512))).reshape(N_CLASSES, *SHAPE)


def inputs(n_examples: int = 40) -> tuple[torch.Tensor, np.ndarray]:
    """Half of the examples of COLLAPSE_CLASS (the class the model collapses to), the rest spread over the others:
    each a prototype, exactly."""
    labels = np.where(np.arange(n_examples) % 2 == 0, COLLAPSE_CLASS, 1 + (np.arange(n_examples) // 2) % 3)
    return prototypes()[torch.as_tensor(labels)], labels


def level_certifications(model: nn.Module, x: torch.Tensor, labels: np.ndarray) -> dict:
    """``{level: certification frame}`` of every level (the workflow's validation certifications)."""
    import pandas as pd

    smoother = Smoother(model, N_CLASSES, 20_000)
    idx, frames = np.arange(len(x)), {}
    for level, sigma in enumerate(sigma_levels(SIGMA0, N_LEVELS), start=1):
        result = smoother.certify(x, np.full(len(x), sigma), idx, N0, N, ALPHA, SEED)
        frames[level] = pd.DataFrame({
            "idx": idx, "label": labels, "predict": result.predict, "radius": result.radius,
            "correct": (result.predict == labels).astype(int), "time": 0.0, "sigma": sigma,
            "pA_lower": result.pA_lower, "c_hat": result.c_hat, "nA": result.nA, "nB": result.nB,
            "n0A": result.n0A, "n0": N0, "n": N, "alpha": ALPHA, "seed": SEED, "n_used": N,
            "procedure": "cohen"})[CERTIFY_COLUMNS]
    return frames


@pytest.fixture(scope="module")
def collapsing() -> dict:
    x, labels = inputs()
    model = CollapsingClassifier(prototypes(), THRESHOLD).eval()
    frames = level_certifications(model, x, labels)
    return {"model": model, "x": x, "labels": labels, "frames": frames,
            "excluded": collapsed_levels(collapse_guard(frames, N_CLASSES, N_LEVELS))}


@pytest.fixture(scope="module")
def healthy() -> dict:
    x, labels = inputs()
    model = CollapsingClassifier(prototypes(), float("inf")).eval()
    frames = level_certifications(model, x, labels)
    return {"model": model, "x": x, "labels": labels, "frames": frames,
            "excluded": collapsed_levels(collapse_guard(frames, N_CLASSES, N_LEVELS))}


def test_the_construction_collapses_above_its_threshold_and_the_collapse_wins_acr(collapsing):
    frames = collapsing["frames"]
    for level in range(10, N_LEVELS + 1):
        assert (frames[level]["predict"] == COLLAPSE_CLASS).all(), level
    for level in range(1, 8):
        assert (frames[level]["predict"] == frames[level]["label"]).mean() >= 0.9, level
    by_level = analysis.acr_by_level(frames).set_index("level")["acr"]
    assert by_level.idxmax() >= 10  # half the examples at radius 2 sigma beat every level that does not collapse


def test_the_guard_marks_exactly_the_collapsed_levels(collapsing, healthy):
    assert set(range(10, N_LEVELS + 1)) <= set(collapsing["excluded"]) <= set(range(9, N_LEVELS + 1))
    assert healthy["excluded"] == []


def test_validation_best_avoids_the_collapse(collapsing):
    guarded = analysis.best_uniform_acr(collapsing["frames"], collapsing["excluded"]).level
    assert guarded not in collapsing["excluded"] and guarded <= 8
    assert analysis.best_uniform_acr(collapsing["frames"]).level in collapsing["excluded"]  # negative control


def uniform_choice(sample: dict, excluded: list[int]) -> int:
    """Algorithm 3 (Eq. 5, label-free) on the sample's inputs with the given levels left out."""
    smoother = Smoother(sample["model"], N_CLASSES, 20_000)
    criterion = search.uniform_criterion(smoother, sample["x"], np.arange(len(sample["x"])), SIGMA0, N_LEVELS,
                                         search.RadiusEstimate(50, max_certifiable_p(ALPHA, N), seed=1))
    return int(search.fgss(search.excluding(criterion, excluded), 1, N_LEVELS).level[0])


def test_label_free_uniform_sigma_avoids_the_collapse(collapsing):
    assert uniform_choice(collapsing, collapsing["excluded"]) not in collapsing["excluded"]
    assert uniform_choice(collapsing, []) in collapsing["excluded"]  # negative control


def test_cascade_avoids_the_collapse(collapsing):
    frames, excluded, labels = collapsing["frames"], collapsing["excluded"], collapsing["labels"]
    guarded = cascade_frame({level: frame for level, frame in frames.items() if level not in excluded})
    assert guarded["correct"].mean() >= 0.9 and not (guarded["sigma"] > level_sigma(min(excluded), SIGMA0)).any()
    unguarded = cascade_frame(frames)  # negative control: it fires at the largest sigma, the collapsed class
    assert (unguarded["predict"][unguarded["predict"] >= 0] == COLLAPSE_CLASS).all()
    assert unguarded["correct"].mean() == pytest.approx(np.mean(labels == COLLAPSE_CLASS))


def test_dual_rs_labels_avoid_the_collapse(collapsing):
    candidates = [1, 2, 4, 8, 16]
    smoother = Smoother(collapsing["model"], N_CLASSES, 20_000)
    x, labels = collapsing["x"], collapsing["labels"]
    sigmas = dual.candidate_sigmas(candidates, SIGMA0)
    radii = dual_selector.candidate_radii(smoother, x, labels, np.arange(len(x)), sigmas,
                                          search.RadiusEstimate(50, max_certifiable_p(ALPHA, N), seed=2))
    guarded = dual_selector.labels_frame(np.arange(len(x)), labels, candidates, radii, collapsing["excluded"])
    assert not guarded["selector_level"].isin(collapsing["excluded"]).any()
    unguarded = dual_selector.labels_frame(np.arange(len(x)), labels, candidates, radii)  # negative control
    assert (unguarded["selector_level"][labels == COLLAPSE_CLASS] == 16).all()


def test_semi_elastic_sigma_stays_below_the_collapse(collapsing):
    cap = guarded_sigma_max(collapsing["excluded"], SIGMA0)
    assert cap == level_sigma(min(collapsing["excluded"]) - 1, SIGMA0)
    sigma = knn_sigma(np.array([0.0, 50.0, 500.0]), sigma_b=0.5, r=0.01, m=0.0, sigma_max=cap)
    assert np.all(sigma <= cap) and sigma[0] == 0.5  # capped only where it would reach the collapse
    assert guarded_sigma_max([], SIGMA0) is None and knn_sigma(np.array([500.0]), 0.5, 0.01, 0.0)[0] > cap


def test_a_model_without_collapse_gets_the_unguarded_choices(healthy):
    frames, excluded = healthy["frames"], healthy["excluded"]
    assert analysis.best_uniform_acr(frames, excluded).level == analysis.best_uniform_acr(frames).level
    assert uniform_choice(healthy, excluded) == uniform_choice(healthy, [])
    assert cascade_frame({k: f for k, f in frames.items() if k not in excluded}).equals(cascade_frame(frames))
    assert guarded_sigma_max(excluded, SIGMA0) is None


def test_every_level_collapsed_leaves_no_level_out():
    import pandas as pd

    guard = pd.DataFrame({"level": [1, 2], "n_certified": [5, 5], "effective_classes": [1.0, 1.0],
                          "collapsed": [1, 1]})
    assert collapsed_levels(guard) == []
