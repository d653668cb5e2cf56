"""Dual Randomized Smoothing (Sun, Mao, Vechev, ICLR 2026, arXiv 2512.01782): an input-dependent sigma that is
certified itself, so the deployed instance-wise classifier is certified.

The deployed classifier. Candidates ``sigma_1 < ... < sigma_K`` (a subset of the levels ``sqrt(l) sigma0``). A
selector network ``s`` maps an input to a candidate index; smoothed with its own noise ``sigma_sel`` it is
``h(x) = argmax_k P[s(x + sigma_sel eps) = k]``. The classifier ``f`` smoothed at candidate k is
``g_k(x) = argmax_c P[f(x + sigma_k eps) = c]``. A user queries ``G(x) = g_{h(x)}(x)``.

Theorem (Dual RS). If ``h(x') = k`` for every ``||x' - x|| < R_sel`` and ``g_k(x') = c`` for every
``||x' - x|| < R_cls``, then ``G(x') = c`` for every ``||x' - x|| < min(R_sel, R_cls)``: on the smaller ball
the selector picks k and ``g_k`` answers c. (The Insta-RS radius is ``R_cls`` alone, which says nothing once
the level changes inside the ball: :mod:`.falsify`.)

The certificate at x (:func:`combine`, :func:`dual_frame`): CERTIFY the smoothed selector (N0 selection and N
estimation samples at ``sigma_sel``, its own noise seed, ``alpha_sel``): candidate k,
``R_sel = sigma_sel PhiInv(pA_lower_sel)``. CERTIFY ``g_k`` at ``sigma_k`` (samples independent of the
selector's, ``alpha_cls``): class c, ``R_cls = sigma_k PhiInv(pA_lower_cls)``. Report c with radius
``min(R_sel, R_cls)``; abstain when either abstains.

Validity: with probability ``>= 1 - alpha_sel - alpha_cls`` (union bound; independence is not needed). When the
selector's bound holds, ``pA_lower_sel > 1/2`` bounds the probability of k, so k is the population ``h(x)``, a
fixed number; the classifier's bound at that fixed level fails with probability at most ``alpha_cls``. The
classifier's samples must not be the ones that chose k (fresh CERTIFY at the selected sigma, or the fixed-level
certification of that level: :func:`classifier_from_levels`); the two also get different noise seeds, which
:func:`dual_frame` checks.

Selector labels (:func:`candidate_radii`, :func:`hard_labels`). On the training split, per candidate, the
radius estimated with the label from m noise vectors shared by the candidates, by one of :data:`LABEL_CRITERIA`
(``sound.dual.labels.criterion``):

- ``soft`` (default): Eq. 4 with the label, ``CR_hat(x, y, sigma_k) = sigma_k PhiInv(g_soft_y(x, sigma_k))``;
- ``votes``: the vote share of the label, ``sigma_k PhiInv(n_y / m)``, the radius CERTIFY's point estimate. For
  models whose softmax is flat (SmoothAdv-trained ones): their soft score of the label stays below 1/2 even where
  every vote is right, so ``soft`` labels nothing (the digits demo's SmoothAdv-1.00: no training example).
  Votes saturate at ``p_max`` for confident examples, so among the candidates that certify an example they
  favour the largest sigma; on the digits demo ``soft`` gave the better selector (``README``).

p is clamped to ``[1 - p_max, p_max]``. The label is *hard*: the candidate with the largest positive
``CR_hat`` (the level that serves the example best), ties to the smaller sigma, among the candidates the collapse
guard keeps (:mod:`insta_rs.collapse`: a level where the model answers one class gives that class's examples large
radii, and a selector taught to send them there sends other inputs there too). Examples with no positive
``CR_hat`` (wrong or unsure at every candidate) get :data:`NO_LABEL` and are left out of the selector's training:
no choice of sigma certifies them, so any label would only pull the selector's decision regions towards an
arbitrary candidate. Hard labels train with the package's methods unchanged (Gaussian augmentation or SmoothAdv,
at ``sigma_sel``); Dual RS's soft labels (a softmax over the per-candidate radii) would need a soft-target loss
in every method. What limits the certificate on the digits demo is ``R_sel``, not the selector's accuracy
(``bench/dual_demo.py``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from insta_rs.analysis import aligned_levels, certification_alpha, recertified_frame
from insta_rs.certification.noise import SEARCH
from insta_rs.certification.records import ABSTAIN, CERTIFY_COLUMNS, read_certification, write_certification
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import phi_inv_clamped
from insta_rs.collapse import class_level_counts, format_class_level_counts
from insta_rs.data.datasets import load_split
from insta_rs.files import atomic_write
from insta_rs.levels import sigma_levels
from insta_rs.runtime.device import autocast_dtype
from insta_rs.runtime.runlog import Progress
from insta_rs.search import algorithms as search
from insta_rs.training.config import StageConfig
from insta_rs.training.loop import LevelPolicy, build_seeded_model, train_stage

logger = logging.getLogger(__name__)

NO_LABEL = -1
LABEL_CRITERIA = ("soft", "votes")  # the label's estimate at a candidate (module docstring)
SIGMA_ATOL = 5e-7  # sigma is written with 6 decimals
EXTRA_COLUMNS = ["level", "radius_selector", "radius_classifier", "alpha_selector", "alpha_classifier",
                 "seed_selector"]


def candidate_sigmas(levels: Sequence[int], sigma0: float) -> np.ndarray:
    """``sigma_l = sqrt(l) sigma0`` of the candidate levels, which must be distinct and ascending."""
    levels = np.asarray(levels, dtype=int)
    if len(levels) < 2 or np.any(np.diff(levels) <= 0) or levels[0] < 1:
        raise ValueError(f"sound.dual.levels = {levels.tolist()}: give at least two distinct levels >= 1 in "
                         "ascending order")
    return sigma_levels(sigma0, int(levels[-1]))[levels - 1]


# ------------------------------------------------------------------------------------------ selector labels

def candidate_radii(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray,
                    sigmas: Sequence[float], n_samples: int, p_max: float, seed: int,
                    criterion: str = "soft") -> np.ndarray:
    """``CR_hat(x_i, y_i, sigma_k)`` ``[len(x), K]`` by ``criterion`` (module docstring): ``sigma_k PhiInv(p)`` with
    p the label's soft score (``soft``, Eq. 4) or vote share (``votes``) over ``n_samples`` noise vectors, clamped
    to ``[1 - p_max, p_max]``. The same noise vectors serve every candidate of an example (common random numbers:
    the SEARCH stream keyed by ``idx`` and ``seed``)."""
    rows, labels = np.arange(len(x)), np.asarray(labels)
    if criterion not in LABEL_CRITERIA:
        raise ValueError(f"sound.dual.labels.criterion = {criterion!r}: choose one of {list(LABEL_CRITERIA)}")
    columns = []
    for sigma in sigmas:
        sigma_per_row = np.full(len(x), sigma)
        if criterion == "soft":
            columns.append(search.label_aware_radius(smoother, x, labels, idx, sigma_per_row, n_samples, p_max, seed,
                                                     common_noise=True))
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
                         n_samples: int, p_max: float, seed: int, criterion: str = "soft",
                         excluded: Sequence[int] = (), chunk: int = 1000) -> pd.DataFrame:
    """:func:`labels_frame` of the whole training split (the deterministic transform, no augmentation), from
    :func:`candidate_radii` in chunks of ``chunk`` examples (noise keyed by the training index, so the result does
    not depend on ``chunk``). Logs progress (forward passes), the per-class histogram of the labelled levels."""
    dataset = load_split(dataset_cfg, "train", augment=False)
    sigmas = candidate_sigmas(levels, sigma0)
    index, labels, radii = [], [], []
    with classifier.reporting(Progress(logger, len(dataset) * len(sigmas) * n_samples, "forward passes of the labels")):
        for start in range(0, len(dataset), chunk):
            positions = np.arange(start, min(start + chunk, len(dataset)))
            items = [dataset[int(i)] for i in positions]
            y = np.array([item[1] for item in items])
            radii.append(candidate_radii(classifier, torch.stack([item[0] for item in items]), y, positions, sigmas,
                                         n_samples, p_max, seed, criterion))
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
                   stage: StageConfig, arch: str, input_layer: dict, out_path, device: torch.device,
                   precision: str = "fp32", history_path=None, identity: dict | None = None) -> dict | None:
    """Train the selector (``arch`` with one output per candidate) on the labelled training examples with the
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
    run = {"step": "dual_selector", "arch": arch, "input_layer": dict(input_layer), "levels": [int(l) for l in levels],
           "sigma0": float(sigma0), "sigma_sel": float(stage.sigma), "precision": precision,
           "labels_sha256": hashlib.sha256(selector_labels.tobytes()).hexdigest(), **(identity or {})}
    model = build_seeded_model(arch, len(levels), input_layer, stage.seed)
    return train_stage(model, RelabelledDataset(train_set, selector_labels), stage,
                       LevelPolicy("constant", sigma=stage.sigma), out_path,
                       model_info={"arch": arch, "num_classes": len(levels), "input_layer": dict(input_layer)},
                       identity=run, device=device, autocast_dtype=autocast_dtype(precision),
                       history_path=history_path)


def selector_settings(record: dict) -> tuple[list[int], float, float]:
    """``(levels, sigma0, sigma_sel)`` of a selector checkpoint written by :func:`train_selector`."""
    identity = (record.get("meta") or {}).get("identity") or {}
    if identity.get("step") != "dual_selector":
        raise ValueError("not a Dual RS selector checkpoint (meta.identity.step is not dual_selector)")
    return list(identity["levels"]), float(identity["sigma0"]), float(identity["sigma_sel"])


# ------------------------------------------------------------------------------------------- the certificate

def selector_assignment(selector: pd.DataFrame, levels: Sequence[int], sigma0: float) -> pd.DataFrame:
    """Per example the level the classifier is certified at: ``idx label level sigma selector_predict``.

    The candidate is the selector's ``c_hat`` (its N0-sample choice, which our certification files keep on
    abstain), so every example gets a sigma even when the selector abstains. That is harmless: the Dual RS
    certificate abstains whenever the selector does, so the classifier's result there is never claimed; it only
    keeps the classifier's certification file complete (one row per example, like every other mode).
    """
    sigmas = candidate_sigmas(levels, sigma0)
    chosen = selector["c_hat"].to_numpy(dtype=int)
    if np.any((chosen < 0) | (chosen >= len(levels))):
        raise ValueError(f"the selector certification names candidates outside 0..{len(levels) - 1}; was it made "
                         f"with a selector for the candidate levels {list(levels)}?")
    return pd.DataFrame({"idx": selector["idx"].to_numpy(), "label": selector["label"].to_numpy(),
                         "level": np.asarray(levels)[chosen], "sigma": sigmas[chosen],
                         "selector_predict": selector["predict"].to_numpy()})


def classifier_from_levels(level_frames: Mapping[int, pd.DataFrame], assignment: pd.DataFrame,
                           alpha: float) -> pd.DataFrame:
    """The classifier's certification at each example's assigned level, from the fixed-level certifications
    (``certify/<model>/level<k>.tsv``) re-certified at ``alpha`` (:func:`insta_rs.analysis.recertified_frame`).

    Under fixed-N CERTIFY identical to certifying afresh at the assigned sigma with the level files' seed, N0, N
    and ``alpha``: CERTIFY's noise is keyed by (seed, idx, stream), its counts do not depend on alpha, and the level
    is chosen from the selector's samples only. Under the sequential procedure the bound at ``alpha`` is the
    stopping round's (:mod:`insta_rs.certification.sequential`), valid as the level's stopping rule looked at its own samples only.
    """
    aligned = aligned_levels({k: level_frames[k] for k in sorted(set(assignment["level"]))})
    by_idx = assignment.set_index("idx")["level"]
    rows = []
    for level, frame in aligned.items():
        rows.append(frame[frame["idx"].map(by_idx).to_numpy() == level])
    chosen = pd.concat(rows)
    missing = np.setdiff1d(assignment["idx"].to_numpy(), chosen["idx"].to_numpy())
    if len(missing):
        raise ValueError(f"the level certifications lack test examples {missing[:10].tolist()} of the assignment")
    chosen = chosen.set_index("idx").loc[assignment["idx"].to_numpy()].reset_index()
    return recertified_frame(chosen, alpha)


@dataclass
class DualCertificate:
    """The Dual RS certificate per example (arrays of equal length)."""

    predict: np.ndarray            # class, or ABSTAIN
    radius: np.ndarray             # min(R_sel, R_cls), 0 on abstain
    selector_radius: np.ndarray    # R_sel (0 where the selector abstains)
    classifier_radius: np.ndarray  # R_cls (0 where the classifier abstains)


def combine(selector_predict: np.ndarray, selector_radius: np.ndarray, classifier_predict: np.ndarray,
            classifier_radius: np.ndarray) -> DualCertificate:
    """The theorem's rule: the classifier's class with radius ``min(R_sel, R_cls)``, ABSTAIN if either abstains."""
    selector_predict, classifier_predict = np.asarray(selector_predict), np.asarray(classifier_predict)
    selector_radius = np.asarray(selector_radius, dtype=float)
    classifier_radius = np.asarray(classifier_radius, dtype=float)
    certified = (selector_predict != ABSTAIN) & (classifier_predict != ABSTAIN)
    return DualCertificate(predict=np.where(certified, classifier_predict, ABSTAIN),
                           radius=np.where(certified, np.minimum(selector_radius, classifier_radius), 0.0),
                           selector_radius=selector_radius, classifier_radius=classifier_radius)


def dual_frame(selector: pd.DataFrame, classifier: pd.DataFrame, levels: Sequence[int], sigma0: float) -> pd.DataFrame:
    """The Dual RS certification in our TSV format from the selector's certification (our TSV of the selector at
    sigma_sel: ``predict``/``c_hat`` = candidate index) and the classifier's at the assigned sigma
    (:func:`selector_assignment`; certified afresh or :func:`classifier_from_levels`).

    Columns: :data:`insta_rs.certification.records.CERTIFY_COLUMNS` (the classifier's ``label sigma pA_lower c_hat nA nB n0A n0 n
    seed``; ``predict`` and ``radius`` from :func:`combine`; ``time`` summed; ``alpha = alpha_sel + alpha_cls``,
    the family-wise alpha), then :data:`EXTRA_COLUMNS`. Checks that both files certify the same examples, that
    each classifier sigma is the selected candidate's and that the two used different noise seeds.
    """
    if len(selector) != len(classifier) or set(selector["idx"]) != set(classifier["idx"]):
        raise ValueError("the selector and classifier certifications hold different test examples; certify both "
                         "on the same test subset")
    selector = selector.set_index("idx").loc[classifier["idx"].to_numpy()].reset_index()
    assigned = selector_assignment(selector, levels, sigma0)
    if not np.allclose(classifier["sigma"].to_numpy(dtype=float), assigned["sigma"].to_numpy(), rtol=0,
                       atol=SIGMA_ATOL):
        raise ValueError("the classifier certification is not at the sigma the selector chose for every example; "
                         "certify it at the selector's assignment")
    if np.any(selector["seed"].to_numpy() == classifier["seed"].to_numpy()):
        raise ValueError("the selector and the classifier were certified with the same noise seed; give the "
                         "selector its own (sound.dual.seed different from certify.seed)")
    alpha_sel, alpha_cls = certification_alpha(selector), certification_alpha(classifier)
    result = combine(selector["predict"].to_numpy(), selector["radius"].to_numpy(dtype=float),
                     classifier["predict"].to_numpy(), classifier["radius"].to_numpy(dtype=float))
    frame = classifier.copy()
    frame["predict"] = result.predict
    frame["radius"] = result.radius
    frame["correct"] = (result.predict == frame["label"].to_numpy()).astype(int)
    frame["time"] = selector["time"].to_numpy(dtype=float) + classifier["time"].to_numpy(dtype=float)
    frame["alpha"] = alpha_sel + alpha_cls
    frame["level"] = assigned["level"].to_numpy()
    frame["radius_selector"] = result.selector_radius
    frame["radius_classifier"] = result.classifier_radius
    frame["alpha_selector"] = alpha_sel
    frame["alpha_classifier"] = alpha_cls
    frame["seed_selector"] = selector["seed"].to_numpy()
    return frame[CERTIFY_COLUMNS + EXTRA_COLUMNS]


def dual_from_level_files(selector_path, level_paths: Mapping[int, str], levels: Sequence[int], sigma0: float,
                          alpha_cls: float, out_path) -> pd.DataFrame:
    """Read the selector's certification and the classifier's ``level<k>.tsv`` files (``level_paths[k]``, at least
    the candidate levels), take the classifier at the selected levels at ``alpha_cls``
    (:func:`classifier_from_levels`), write the :func:`dual_frame` to ``out_path`` and return it."""
    selector = read_certification(selector_path)
    assignment = selector_assignment(selector, levels, sigma0)
    level_frames = {int(k): read_certification(level_paths[k]) for k in levels}
    frame = dual_frame(selector, classifier_from_levels(level_frames, assignment, alpha_cls), levels, sigma0)
    write_certification(frame, out_path, EXTRA_COLUMNS)
    return frame


def selector_binding_share(frame: pd.DataFrame) -> float:
    """Among the certified examples of a :func:`dual_frame`, the share with ``R_sel < R_cls`` (the selector's
    radius is what limits the certificate); NaN when none is certified."""
    certified = frame["predict"].to_numpy() != ABSTAIN
    if not certified.any():
        return float("nan")
    return float(np.mean(frame["radius_selector"].to_numpy()[certified]
                         < frame["radius_classifier"].to_numpy()[certified]))
