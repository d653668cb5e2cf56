"""Datasets: the kinds of data set (digits, the offline default; CIFAR-10; ImageNet; a generic ImageFolder) and their
splits. Each kind's loader and disk checks: :mod:`.sources`.

Every item is ``(x, y)`` with ``x`` a float32 tensor of shape [C, H, W] in [0, 1] and ``y`` an int:
noise is added in pixel space and normalization lives inside the model (:mod:`insta_rs.models.architectures`).

``dataset_cfg`` keys for every kind: ``name`` (a kind of :data:`DATASETS`), ``num_classes``,
``validation_size`` (default 200), ``test_subset`` and ``train_subset`` (see :func:`select_indices`); and
the kind's own keys (:data:`DATASETS`): ``root`` (the directory; not for digits), cifar10's ``download``
(the prepare_data rule fetches the archive only when it is true), imagefolder's ``resize``, ``image_size``,
``augment`` and ``crop_padding``. :func:`local_data_problems` says what a configured data set lacks on disk
before any job runs. torch, torchvision and scikit-learn are imported when data is loaded, so that the
workflow's config check stays light.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from insta_rs.data.sources import (
    DIGITS_TEST_SIZE,
    Subset,
    TensorImageDataset,
    cifar10_problems,
    imagenet_problems,
    load_cifar10,
    load_digits_split,
    load_image_folder,
    load_imagenet,
    root_problems,
)

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

SPLITS = ("train", "test", "validation")
DEFAULT_VALIDATION_SIZE = 200


class IndexedDataset:
    """Wraps a dataset so that item ``i`` is ``(x, y, i)``: Insta-RS Train keys per-example sigma by ``i``."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        x, y = self.dataset[index]
        return x, y, index


@dataclass(frozen=True)
class DatasetKind:
    """A kind of data set (``dataset.name``): its loader ``(cfg, split, validation_size, augment)``, the keys it
    reads beyond :data:`COMMON_KEYS`, what it lacks on disk (lines naming the key and the remedy), and, where fixed,
    its input shape and split sizes (images of the training split before the validation hold-out, test images),
    which ``snakemake cost`` reads without the data (insta_rs.cost.passes)."""

    load: Callable
    keys: tuple[str, ...]
    problems: Callable[[dict], list[str]]
    shape: tuple[int, int, int] | None = None
    sizes: tuple[int, int] | None = None


COMMON_KEYS = ("name", "num_classes", "validation_size", "test_subset", "train_subset")
DATASETS = {
    "digits": DatasetKind(load_digits_split, (), lambda cfg: [], (1, 8, 8),
                          (1797 - DIGITS_TEST_SIZE, DIGITS_TEST_SIZE)),
    "cifar10": DatasetKind(load_cifar10, ("root", "download"), cifar10_problems, (3, 32, 32), (50_000, 10_000)),
    "imagenet": DatasetKind(load_imagenet, ("root",), imagenet_problems, (3, 224, 224), (1_281_167, 50_000)),
    "imagefolder": DatasetKind(load_image_folder, ("root", "resize", "image_size", "augment", "crop_padding"),
                               root_problems),
}


def dataset_kind(dataset_cfg: dict) -> DatasetKind:
    """The kind of ``dataset.name``; ValueError naming the kinds otherwise."""
    name = dataset_cfg.get("name")
    if name not in DATASETS:
        raise ValueError(f"dataset.name = {name!r} is unknown; use one of {', '.join(DATASETS)}")
    return DATASETS[name]


def inapplicable_keys(dataset_cfg: dict) -> list[str]:
    """Keys of ``dataset`` that its kind does not read (set, but ignored: an error in the config)."""
    kind = dataset_kind(dataset_cfg)
    return [key for key in dataset_cfg if key not in COMMON_KEYS + kind.keys]


def local_data_problems(dataset_cfg: dict) -> list[str]:
    """What the configured data set lacks on disk, one line per problem naming the key and the remedy."""
    return dataset_kind(dataset_cfg).problems(dataset_cfg)


# ------------------------------------------------------------------------------------------------ splits

def load_split(dataset_cfg: dict, split: str, augment: bool = True):
    """The ``split`` ("train", "test" or "validation") of the configured dataset; items ``(x, y)``.

    ``augment`` applies to the train split only: True gives the random training augmentation (Cohen's
    crop and flip), False the deterministic test-time transform, for steps that evaluate training
    examples instead of training on them (PFAT's grid assignment, kNN distances). Digits have none.
    ``dataset.train_subset`` (the forms of :func:`select_indices`) keeps part of the train split.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    validation_size = int(dataset_cfg.get("validation_size", DEFAULT_VALIDATION_SIZE))
    dataset = dataset_kind(dataset_cfg).load(dataset_cfg, split, validation_size, augment)
    if split == "train" and dataset_cfg.get("train_subset"):
        dataset = Subset(dataset, select_indices(len(dataset), dataset_cfg["train_subset"], "dataset.train_subset"))
    return dataset


def train_labels(dataset_cfg: dict) -> np.ndarray:
    """The labels of the train split, by position (the index training keys levels by), without decoding images."""
    dataset = load_split(dataset_cfg, "train", augment=False)
    if isinstance(dataset, TensorImageDataset):
        return dataset.labels.numpy()
    positions = []
    while isinstance(dataset, Subset):  # a validation hold-out, then train_subset
        positions.append(dataset.indices)
        dataset = dataset.dataset
    labels = np.asarray(dataset.labels if isinstance(dataset, TensorImageDataset) else dataset.targets)
    for indices in reversed(positions):
        labels = labels[np.asarray(indices, dtype=int)]
    return labels


def prepare_dataset(dataset_cfg: dict) -> dict[str, int]:
    """Make the configured data set available and return its split sizes.

    CIFAR-10 is downloaded into ``dataset.root`` when ``dataset.download`` is true and it is not
    there yet (torchvision checks the archive's MD5); every other data set is only checked.
    """
    if dataset_cfg.get("name") == "cifar10" and dataset_cfg.get("download"):
        from torchvision import datasets

        root = dataset_cfg.get("root")
        if root is None:
            raise ValueError("dataset.root is null: set it to the directory CIFAR-10 should be downloaded to")
        try:
            for train in (True, False):
                datasets.CIFAR10(root, train=train, download=True)
        except OSError as error:  # urllib.error.URLError is an OSError
            raise OSError(f"could not download CIFAR-10 from {datasets.CIFAR10.url} ({error}); if this machine is "
                          f"offline, download and extract cifar-10-python.tar.gz elsewhere, copy "
                          f"cifar-10-batches-py into dataset.root = {root}, and rerun") from error
    sizes = {"test": len(load_split(dataset_cfg, "test"))}
    for split in ("train", "validation"):  # a run of published models may need the test split only
        try:
            sizes[split] = len(load_split(dataset_cfg, split))
        except FileNotFoundError as error:
            logger.warning("no %s split (%s): training, kNN sigma and validation-chosen sigma will fail", split, error)
    logger.info("dataset %s: %s", dataset_cfg["name"], sizes)
    return sizes


def select_indices(n_total: int, subset_cfg: dict, key: str = "dataset.test_subset") -> np.ndarray:
    """Positions chosen by a subset config (``key`` names it in errors).

    ``{"every": k}`` -> 0, k, 2k, ... (Cohen's ``--skip k``); ``{"start": a, "stop": b}`` -> a..b-1
    (MACER: 500..999); ``{"all": true}`` -> everything; optional ``"limit": n`` keeps the first n.
    """
    subset_cfg = dict(subset_cfg or {})
    limit = subset_cfg.pop("limit", None)
    keys = set(subset_cfg)
    if keys == {"every"} and isinstance(subset_cfg["every"], int) and subset_cfg["every"] >= 1:
        chosen = np.arange(0, n_total, subset_cfg["every"])
    elif keys in ({"start", "stop"}, {"start"}):
        start, stop = subset_cfg["start"], subset_cfg.get("stop", n_total)
        if not 0 <= start < stop <= n_total:
            raise ValueError(f"{key} = {{start: {start}, stop: {stop}}} needs 0 <= start < stop <= {n_total} "
                             f"(the split has {n_total} images)")
        chosen = np.arange(start, stop)
    elif keys == {"all"} and subset_cfg["all"] is True:
        chosen = np.arange(n_total)
    else:
        raise ValueError(f"{key} = {subset_cfg!r} is not valid: use {{every: k}} (k >= 1), "
                         f"{{start: a, stop: b}} or {{all: true}}, each with optional limit: n")
    if limit is not None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"{key}.limit = {limit!r} must be a positive integer")
        chosen = chosen[:limit]
    return chosen.astype(np.int64)


def test_tensors(dataset_cfg: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The configured test subset as ``(x [N, C, H, W], labels [N], indices [N])``.

    ``indices`` are positions in the full test split (the ``idx`` column of certification files),
    not 0..N-1 of the subset.
    """
    import torch

    test_set = load_split(dataset_cfg, "test")
    indices = select_indices(len(test_set), dataset_cfg.get("test_subset", {"all": True}))
    logger.info("loading %d of %d test images of %s", len(indices), len(test_set), dataset_cfg["name"])
    items = [test_set[int(i)] for i in indices]
    x = torch.stack([item[0] for item in items]) if items else torch.empty(0)
    labels = torch.tensor([item[1] for item in items], dtype=torch.long)
    return x, labels, torch.from_numpy(indices)


test_tensors.__test__ = False  # not a pytest test despite the name
