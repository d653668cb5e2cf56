"""An input-dependent noise level whose logarithm is r-Lipschitz (Sukenik et al., ICML 2022, Sec. 5):

    sigma(x) = sigma_b * exp(r * (knn(x) - m)),   knn(x) = mean L2 distance from x to its k nearest training points.

``knn`` is 1-Lipschitz (each order statistic of the distances to a fixed point set is), so ``ln sigma`` is
r-Lipschitz: at ``||x' - x|| <= R``, ``sigma(x') / sigma(x)`` lies in ``[exp(-r R), exp(r R)]``, which is what
:mod:`.semi_elastic` certifies against. ``sigma`` depends on the input and the training set only, never on
test data or certification samples, so one certification per example needs no multiplicity correction.

``m`` is a reference distance that only rescales ``sigma_b``: the median, over a fixed random subset of
training points, of each one's mean distance to its k nearest *other* training points (no test data).

Collapse guard (:mod:`insta_rs.collapse`): ``sigma`` is capped at ``sigma_max``, the sigma of the largest level below
the first level whose certified validation predictions collapse onto few classes. ``min(ln sigma, ln sigma_max)`` is
still r-Lipschitz, so the certificate is unchanged in form; the deployed classifier applies the same cap.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from insta_rs.data.datasets import load_split
from insta_rs.files import atomic_write
from insta_rs.levels import level_sigma
from insta_rs.runtime.runlog import Progress

logger = logging.getLogger(__name__)


def knn_distance(queries: torch.Tensor, train: torch.Tensor, k: int, exclude_self: bool = False,
                 chunk: int = 256) -> np.ndarray:
    """Mean L2 distance of each query to its ``k`` nearest rows of ``train`` (inputs flattened).

    ``exclude_self`` drops the nearest match (for queries that are themselves training points).
    """
    if k < 1 or k + int(exclude_self) > len(train):
        raise ValueError(f"sound.semi_elastic.k = {k} needs 1 <= k < number of training points ({len(train)})")
    train_flat = train.flatten(1).double()
    out, progress = [], Progress(logger, len(queries), f"queries' kNN distances to {len(train)} training points",
                                 final=False)  # the audit asks for a few points at a time
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk].flatten(1).double().to(train_flat.device)
        distances = torch.cdist(block, train_flat)
        nearest = torch.topk(distances, k + int(exclude_self), dim=1, largest=False).values
        out.append(nearest[:, int(exclude_self):].mean(dim=1).cpu())
        progress.update(len(block))
    return torch.cat(out).numpy()


def reference_distance(train: torch.Tensor, k: int, n_subset: int = 2000, seed: int = 0) -> float:
    """``m``: median kNN distance of up to ``n_subset`` training points (fixed random subset) to the others."""
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.choice(len(train), size=min(n_subset, len(train)), replace=False))
    return float(np.median(knn_distance(train[torch.as_tensor(subset)], train, k, exclude_self=True)))


def knn_sigma(knn_dist: np.ndarray, sigma_b: float, r: float, m: float, sigma_max: float | None = None) -> np.ndarray:
    """``sigma(x) = sigma_b * exp(r * (knn(x) - m))``, at most ``sigma_max`` (the collapse guard) when given."""
    if sigma_b <= 0 or r < 0:
        raise ValueError(f"sound.semi_elastic: need sigma_b > 0 and r >= 0 (got sigma_b={sigma_b}, r={r})")
    sigma = sigma_b * np.exp(r * (np.asarray(knn_dist, dtype=float) - m))
    return sigma if sigma_max is None else np.minimum(sigma, sigma_max)


def guarded_sigma_max(excluded_levels: list[int], sigma0: float) -> float | None:
    """The cap of the collapse guard: the sigma of the largest level below the first excluded level (level 1's when
    that is excluded); None when no level is excluded."""
    if not excluded_levels:
        return None
    return level_sigma(max(min(excluded_levels) - 1, 1), sigma0)


@dataclass(frozen=True)
class KnnSigmaSettings:
    """``sigma(x) = sigma_b * exp(r * (knn(x) - m))`` over the ``k`` nearest training points, ``m`` from ``n_subset``
    training points drawn with ``seed``, at most ``sigma_max`` (the collapse guard) when given."""

    k: int
    r: float
    sigma_b: float
    n_subset: int = 2000
    seed: int = 0
    sigma_max: float | None = None


def assign_knn_sigma(test_x: torch.Tensor, test_labels: np.ndarray, test_idx: np.ndarray, train_x: torch.Tensor,
                     settings: KnnSigmaSettings) -> tuple[pd.DataFrame, dict]:
    """Per-example sigma for the test examples, as an assignment table (``idx label level sigma knn_dist``,
    ``level = -1`` for a continuous sigma) and its metadata (``k r sigma_b m dim n_train sigma_max``)."""
    k, r, sigma_b, n_subset = settings.k, settings.r, settings.sigma_b, settings.n_subset
    seed, sigma_max = settings.seed, settings.sigma_max
    m = reference_distance(train_x, k, n_subset, seed)
    distances = knn_distance(test_x, train_x, k)
    table = pd.DataFrame({"idx": test_idx, "label": test_labels, "level": -1,
                          "sigma": knn_sigma(distances, sigma_b, r, m, sigma_max), "knn_dist": distances})
    meta = {"k": k, "r": r, "sigma_b": sigma_b, "m": m, "dim": int(np.prod(test_x.shape[1:])),
            "n_train": len(train_x), "m_subset": n_subset, "seed": seed, "sigma_max": sigma_max}
    logger.info("kNN sigma: m = %.4f, sigma in [%.4f, %.4f] over %d test examples", m, table["sigma"].min(),
                table["sigma"].max(), len(table))
    return table, meta


def training_tensors(dataset_cfg: dict, max_train: int | None = None, seed: int = 0) -> torch.Tensor:
    """The training split as one tensor ``[N, C, H, W]`` *without* training augmentation (the deterministic
    test-time transform); ``max_train`` keeps a fixed random subset."""
    dataset = load_split(dataset_cfg, "train", augment=False)
    positions = np.arange(len(dataset))
    if max_train is not None and max_train < len(dataset):
        positions = np.sort(np.random.default_rng(seed).choice(len(dataset), size=max_train, replace=False))
    logger.info("loading %d training images for kNN distances", len(positions))
    return torch.stack([dataset[int(i)][0] for i in positions])


def write_assignment(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the assignment TSV (read by the certify step as ``search/<model>/knn.tsv``), atomically."""
    with atomic_write(path) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6f")
