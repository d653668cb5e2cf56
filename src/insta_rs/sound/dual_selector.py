"""The Dual RS selector (:mod:`.dual`): its labels on the training split and its training.

Selector labels (:func:`candidate_radii`, :func:`hard_labels`). On the training split, per candidate, the
radius estimated with the label from m noise vectors shared by the candidates, by one of :data:`LABEL_CRITERIA`
(``sound.dual.labels.criterion``):

- ``soft`` (default): Eq. 4 with the label, ``CR_hat(x, y, sigma_k) = sigma_k PhiInv(g_soft_y(x, sigma_k))``;
- ``votes``: the vote share of the label, ``sigma_k PhiInv(n_y / m)``, the radius CERTIFY's point estimate. For
  models whose softmax is flat (SmoothAdv-trained ones): their soft score of the label stays below 1/2 even where
  every vote is right, so ``soft`` labels nothing. Votes saturate at ``p_max`` for confident examples, so among the
  candidates that certify an example they favour the largest sigma.

p is clamped to ``[1 - p_max, p_max]``. The label is *hard*: the candidate with the largest positive
``CR_hat`` (the level that serves the example best), ties to the smaller sigma, among the candidates the collapse
guard keeps (:mod:`insta_rs.collapse`: a level where the model answers one class gives that class's examples large
radii, and a selector taught to send them there sends other inputs there too). Examples with no positive
``CR_hat`` (wrong or unsure at every candidate) get :data:`NO_LABEL` and are left out of the selector's training:
no choice of sigma certifies them, so any label would only pull the selector's decision regions towards an
arbitrary candidate. Hard labels train with the package's methods unchanged (Gaussian augmentation or SmoothAdv,
at ``sigma_sel``); Dual RS's soft labels (a softmax over the per-candidate radii) would need a soft-target loss
in every method.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from insta_rs.certification.noise import SEARCH
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import phi_inv_clamped
from insta_rs.collapse import class_level_counts, format_class_level_counts
from insta_rs.data.datasets import load_split
from insta_rs.files import atomic_write
from insta_rs.runtime.runlog import Progress
from insta_rs.search import algorithms as search
from insta_rs.search.algorithms import RadiusEstimate
from insta_rs.sound.dual import candidate_sigmas
from insta_rs.training.config import StageConfig
from insta_rs.training.loop import LevelPolicy, build_seeded_model, train_stage
from insta_rs.training.stage_run import StageOutput, TrainingJob

logger = logging.getLogger(__name__)

NO_LABEL = -1
LABEL_CRITERIA = ("soft", "votes")  # the label's estimate at a candidate (module docstring)

# ------------------------------------------------------------------------------------------ selector labels

def candidate_radii(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray,
                    sigmas: Sequence[float], estimate: RadiusEstimate, criterion: str = "soft") -> np.ndarray:
    """``CR_hat(x_i, y_i, sigma_k)`` ``[len(x), K]`` by ``criterion`` (module docstring): ``sigma_k PhiInv(p)`` with
    p the label's soft score (``soft``, Eq. 4) or vote share (``votes``) over ``estimate.n_samples`` noise vectors,
    clamped to ``[1 - p_max, p_max]``. The same noise vectors serve every candidate of an example (common random
    numbers: the SEARCH stream keyed by ``idx`` and ``estimate.seed``; ``estimate.common_noise`` must hold)."""
    n_samples, p_max, seed = estimate.n_samples, estimate.p_max, estimate.seed
    rows, labels = np.arange(len(x)), np.asarray(labels)
    if criterion not in LABEL_CRITERIA:
        raise ValueError(f"sound.dual.labels.criterion = {criterion!r}: choose one of {list(LABEL_CRITERIA)}")
    columns = []
    for sigma in sigmas:
        sigma_per_row = np.full(len(x), sigma)
        if criterion == "soft":
            columns.append(search.label_aware_radius(smoother, x, labels, idx, sigma_per_row, estimate))
        else:
            votes = smoother.sample_counts(x, sigma_per_row, idx, n_samples, seed, SEARCH)[rows, labels]
            columns.append(sigma * phi_inv_clamped(votes / n_samples, p_max))
    return np.stack(columns, axis=1)


def hard_labels(radii: np.ndarray) -> np.ndarray:
    """Selector label per row of ``radii [n, K]``: the candidate with the largest positive radius (ties: the
    smaller sigma, i.e. the first column), :data:`NO_LABEL` where no radius is positive (module docstring)."""
    radii = np.asarray(radii, dtype=float)
    return np.where((radii > 0).any(axis=1), radii.argmax(axis=1), NO_LABEL)


def label_training_split(classifier: Smoother, dataset_cfg: dict, levels: Sequence[int], sigma0: float,
                         estimate: RadiusEstimate, criterion: str = "soft", excluded: Sequence[int] = (),
                         chunk: int = 1000) -> pd.DataFrame:
    """:func:`labels_frame` of the whole training split (the deterministic transform, no augmentation), from
    :func:`candidate_radii` in chunks of ``chunk`` examples (noise keyed by the training index, so the result does
    not depend on ``chunk``). Logs progress (forward passes), the per-class histogram of the labelled levels."""
    dataset = load_split(dataset_cfg, "train", augment=False)
    sigmas = candidate_sigmas(levels, sigma0)
    index, labels, radii = [], [], []
    n_passes = len(dataset) * len(sigmas) * estimate.n_samples
    with classifier.reporting(Progress(logger, n_passes, "forward passes of the labels")):
        for start in range(0, len(dataset), chunk):
            positions = np.arange(start, min(start + chunk, len(dataset)))
            items = [dataset[int(i)] for i in positions]
            y = np.array([item[1] for item in items])
            radii.append(candidate_radii(classifier, torch.stack([item[0] for item in items]), y, positions, sigmas,
                                         estimate, criterion))
            index.append(positions)
            labels.append(y)
    frame = labels_frame(np.concatenate(index), np.concatenate(labels), levels, np.concatenate(radii), excluded)
    labelled = frame[frame["selector_level"] > 0]
    logger.info("selector labels: %d of %d training examples labelled; levels by class (rows: class, columns: "
                "level 1..%d)\n%s", len(labelled), len(frame), max(levels),
                format_class_level_counts(class_level_counts(labelled["label"].to_numpy(),
                                                             labelled["selector_level"].to_numpy(), max(levels),
                                                             int(dataset_cfg["num_classes"]))))
    return frame


def labels_frame(index: np.ndarray, labels: np.ndarray, levels: Sequence[int], radii: np.ndarray,
                 excluded: Sequence[int] = ()) -> pd.DataFrame:
    """The selector-labels table: ``index label cr_hat_l<level>... selector_label selector_level`` (one row per
    training example; ``selector_level = -1`` where there is no label); candidates at ``excluded`` levels (the
    collapse guard) are never a label."""
    chosen = hard_labels(np.where(np.isin(levels, list(excluded))[None, :], -np.inf, radii))
    frame = pd.DataFrame({"index": index, "label": labels})
    for column, level in enumerate(levels):
        frame[f"cr_hat_l{level}"] = radii[:, column]
    frame["selector_label"] = chosen
    frame["selector_level"] = np.where(chosen >= 0, np.asarray(levels)[np.maximum(chosen, 0)], NO_LABEL)
    return frame


def write_labels(frame: pd.DataFrame, path) -> None:
    """Write the selector-labels table as TSV, atomically."""
    with atomic_write(path) as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format="%.6f")


def read_labels(path, levels: Sequence[int], n_examples: int) -> np.ndarray:
    """Selector labels ``[n_examples]`` (candidate index or NO_LABEL, by training index) from :func:`write_labels`'s
    TSV, after checking it was made for these candidate levels and this training split."""
    frame = pd.read_csv(path, sep="\t")
    expected = [f"cr_hat_l{level}" for level in levels]
    found = [c for c in frame.columns if c.startswith("cr_hat_l")]
    if found != expected:
        raise ValueError(f"{path} holds radii for {found}, not for the candidate levels {list(levels)}; re-run the "
                         "selector-labels step")
    if sorted(frame["index"].tolist()) != list(range(n_examples)):
        raise ValueError(f"{path}: indices must be 0..{n_examples - 1} once each (the training split)")
    labels = np.full(n_examples, NO_LABEL)
    labels[frame["index"].to_numpy()] = frame["selector_label"].to_numpy()
    return labels


# ------------------------------------------------------------------------------------------- selector training

class RelabelledDataset(Dataset):
    """The examples of ``base`` (items ``(x, y)``) that have a selector label, as ``(x, selector_label, i)``."""

    def __init__(self, base: Dataset, selector_labels: np.ndarray):
        self.base = base
        self.positions = np.flatnonzero(np.asarray(selector_labels) >= 0)
        self.labels = np.asarray(selector_labels)[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        x, _ = self.base[int(self.positions[i])]
        return x, int(self.labels[i]), i


def train_selector(train_set: Dataset, selector_labels: np.ndarray, levels: Sequence[int], sigma0: float,
                   stage: StageConfig, job: TrainingJob, output: StageOutput,
                   identity: dict | None = None) -> dict | None:
    """Train the selector (``job.arch`` with one output per candidate) on the labelled training examples with the
    stage's method at ``sigma_sel = stage.sigma`` (a ``fixed``-role stage: ``gaussian`` or ``smoothadv``, ``sigma``,
    schedule), through the resumable :func:`train_stage`. The checkpoint's ``meta.identity`` records the candidate
    levels, sigma0 and sigma_sel (:func:`selector_settings`). Returns the final checkpoint."""
    if stage.sigma is None:
        raise ValueError("the selector's training stage needs sigma (sigma_sel)")
    selector_labels = np.asarray(selector_labels, dtype=np.int64)
    if not np.any(selector_labels >= 0):
        raise ValueError("no training example has a selector label: the classifier's estimate for the true label "
                         "is at most 1/2 at every candidate level, so Dual RS has nothing to learn from. A model with a "
                         "flat softmax (SmoothAdv) needs sound.dual.labels.criterion: votes; otherwise give "
                         "sound.dual.levels where the model is accurate, or leave the model out of sound.models")
    arch, input_layer = job.arch, job.input_layer
    run = {"step": "dual_selector", "arch": arch, "input_layer": dict(input_layer), "levels": [int(l) for l in levels],
           "sigma0": float(sigma0), "sigma_sel": float(stage.sigma), "precision": job.precision,
           "labels_sha256": hashlib.sha256(selector_labels.tobytes()).hexdigest(), **(identity or {})}
    model = build_seeded_model(arch, len(levels), input_layer, stage.seed)
    return train_stage(model, RelabelledDataset(train_set, selector_labels), stage,
                       LevelPolicy("constant", sigma=stage.sigma), output,
                       model_info={"arch": arch, "num_classes": len(levels), "input_layer": dict(input_layer)},
                       identity=run, execution=job.execution())


def selector_settings(record: dict) -> tuple[list[int], float, float]:
    """``(levels, sigma0, sigma_sel)`` of a selector checkpoint written by :func:`train_selector`."""
    identity = (record.get("meta") or {}).get("identity") or {}
    if identity.get("step") != "dual_selector":
        raise ValueError("not a Dual RS selector checkpoint (meta.identity.step is not dual_selector)")
    return list(identity["levels"]), float(identity["sigma0"]), float(identity["sigma_sel"])
