"""Datasets: digits (offline default), CIFAR-10, ImageNet and a generic ImageFolder.

Every item is ``(x, y)`` with ``x`` a float32 tensor of shape [C, H, W] in [0, 1] and ``y`` an int:
noise is added in pixel space and normalization lives inside the model (``models.py``).

``dataset_cfg`` keys for every kind: ``name`` (a kind of :data:`DATASETS`), ``num_classes``,
``validation_size`` (default 200), ``test_subset`` and ``train_subset`` (see :func:`select_indices`); and
the kind's own keys (:data:`DATASETS`): ``root`` (the directory; not for digits), cifar10's ``download``
(the prepare_data rule fetches the archive only when it is true), imagefolder's ``resize``, ``image_size``,
``augment`` and ``crop_padding``. :func:`local_data_problems` says what a configured data set lacks on disk
before any job runs. torch, torchvision and scikit-learn are imported when data is loaded, so that the
workflow's config check stays light.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

SPLITS = ("train", "test", "validation")
DIGITS_TEST_SIZE = 500
DEFAULT_VALIDATION_SIZE = 200
SPLIT_SEED = 0


class TensorImageDataset:
    """Images and labels held in memory: item ``i`` is ``(images[i], int(labels[i]))``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


class IndexedDataset:
    """Wraps a dataset so that item ``i`` is ``(x, y, i)``: Insta-RS Train keys per-example sigma by ``i``."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        x, y = self.dataset[index]
        return x, y, index


def _stratified_holdout(indices: np.ndarray, labels: np.ndarray, holdout_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``indices`` into (kept, held out) with ``holdout_size`` held out, stratified by ``labels``.

    Both parts are sorted so that positions follow the original dataset order.
    """
    if holdout_size == 0:
        return np.sort(indices), np.array([], dtype=np.int64)
    if not 0 < holdout_size < len(indices):
        raise ValueError(f"dataset.validation_size = {holdout_size} must be in [0, {len(indices) - 1}] "
                         f"(the split being divided has {len(indices)} images)")
    from sklearn.model_selection import train_test_split

    kept, held_out = train_test_split(indices, test_size=holdout_size, stratify=labels,
                                      random_state=SPLIT_SEED)
    return np.sort(kept), np.sort(held_out)


@functools.lru_cache(maxsize=4)
def digits_split_indices(validation_size: int) -> dict[str, np.ndarray]:
    """Indices into ``load_digits()`` of the fixed train / validation / test splits.

    Test: 500 images, stratified, random_state=0. Validation: ``validation_size`` images of the
    remainder, stratified, random_state=0. Train: the rest.
    """
    from sklearn.datasets import load_digits

    labels = load_digits().target
    rest, test = _stratified_holdout(np.arange(len(labels)), labels, DIGITS_TEST_SIZE)
    train, validation = _stratified_holdout(rest, labels[rest], validation_size)
    return {"train": train, "validation": validation, "test": test}


def _digits(dataset_cfg: dict, split: str, validation_size: int, augment: bool) -> TensorImageDataset:
    """Digits split as tensors [1, 8, 8] with values 0..16 divided by 16 (no augmentation)."""
    import torch
    from sklearn.datasets import load_digits

    bunch = load_digits()
    chosen = digits_split_indices(validation_size)[split]
    images = torch.from_numpy(bunch.images[chosen] / 16.0).float().unsqueeze(1)
    labels = torch.from_numpy(bunch.target[chosen]).long()
    return TensorImageDataset(images, labels)


class Subset:
    """Items ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]


def _require_root(dataset_cfg: dict, what: str) -> Path:
    """``dataset.root`` as a Path; a clear error when it is null or absent on disk."""
    root = dataset_cfg.get("root")
    if root is None:
        raise ValueError(f"dataset.root is null for dataset '{dataset_cfg['name']}': set it to {what}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset.root = {root} does not exist: set dataset.root to {what}")
    return root


def _validation_holdout(dataset, labels: list[int], split: str, validation_size: int) -> Subset:
    """Train or validation part of a training set, stratified with random_state=0."""
    kept, held_out = _stratified_holdout(np.arange(len(labels)), np.asarray(labels), validation_size)
    return Subset(dataset, (kept if split == "train" else held_out).tolist())


CIFAR10_HINT = ("a directory holding cifar-10-batches-py, or set dataset.download: true and run "
                "`snakemake prepare_data` to download it there")


def _cifar10(dataset_cfg: dict, split: str, validation_size: int, augment: bool) -> Subset:
    """CIFAR-10 via torchvision; train uses Cohen's RandomCrop(32, padding=4) + horizontal flip when ``augment``."""
    from torchvision import datasets, transforms

    root = _require_root(dataset_cfg, CIFAR10_HINT)
    to_tensor = transforms.ToTensor()
    cohen_augmentation = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                                             transforms.ToTensor()])
    try:
        if split == "test":
            return datasets.CIFAR10(root, train=False, transform=to_tensor, download=False)
        train_set = datasets.CIFAR10(root, train=True, download=False,
                                     transform=cohen_augmentation if split == "train" and augment else to_tensor)
    except RuntimeError as error:  # torchvision: "Dataset not found or corrupted"
        raise FileNotFoundError(f"CIFAR-10 not found under dataset.root = {root} ({error}): set dataset.root "
                                f"to {CIFAR10_HINT}") from error
    return _validation_holdout(train_set, train_set.targets, split, validation_size)


def _image_folder(directory: Path, transform, num_classes: int):
    """``ImageFolder`` over ``directory`` checking the number of classes against ``dataset.num_classes``."""
    from torchvision import datasets

    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist: dataset.root must contain it, with one "
                                f"sub-folder of images per class")
    folder = datasets.ImageFolder(directory, transform=transform)
    if len(folder.classes) != num_classes:
        raise ValueError(f"{directory} has {len(folder.classes)} class folders but dataset.num_classes = "
                         f"{num_classes}")
    return folder


def _imagenet(dataset_cfg: dict, split: str, validation_size: int, augment: bool):
    """ImageNet from ``root/val`` (Resize(256) + CenterCrop(224)) and ``root/train`` (Cohen's augmentation
    RandomResizedCrop(224) + flip for the train split when ``augment``, else the test transform)."""
    from torchvision import transforms

    root = _require_root(dataset_cfg, "the ImageNet directory holding train/ and val/ class folders "
                                      "(download it from image-net.org yourself)")
    center = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])
    if split == "test":
        return _image_folder(root / "val", center, dataset_cfg["num_classes"])
    transform = center
    if split == "train" and augment:
        transform = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                        transforms.ToTensor()])
    train_set = _image_folder(root / "train", transform, dataset_cfg["num_classes"])
    return _validation_holdout(train_set, train_set.targets, split, validation_size)


AUGMENTATIONS = ("none", "flip", "crop_flip")


def _generic_image_folder(dataset_cfg: dict, split: str, validation_size: int, augment: bool):
    """User images: ``root/test`` (or ``root`` itself) and ``root/train`` with one folder per class.

    Transform: optional ``dataset.resize`` (shorter side), then a square of ``dataset.image_size``: for the
    train split with ``augment``, ``dataset.augment`` = ``crop_flip`` (default: a random crop, padded by
    ``dataset.crop_padding`` pixels, default 0, and a horizontal flip; Cohen et al.'s CIFAR-10 augmentation
    is ``image_size: 32, crop_padding: 4``), ``flip`` (centre crop and flip) or ``none``; a centre crop
    otherwise.
    """
    from torchvision import transforms

    root = _require_root(dataset_cfg, "a directory with class sub-folders of images (or test/ and train/ "
                                      "directories that hold them)")
    resize, crop = dataset_cfg.get("resize"), dataset_cfg.get("image_size")
    augmentation = dataset_cfg.get("augment", "crop_flip") if split == "train" and augment else "none"
    steps = [transforms.Resize(resize)] if resize else []
    if crop and augmentation == "crop_flip":
        steps.append(transforms.RandomCrop(crop, padding=dataset_cfg.get("crop_padding", 0) or None))
    elif crop:
        steps.append(transforms.CenterCrop(crop))
    if augmentation in ("flip", "crop_flip"):
        steps.append(transforms.RandomHorizontalFlip())
    transform = transforms.Compose([*steps, transforms.ToTensor()])
    num_classes = dataset_cfg["num_classes"]
    if split == "test":
        return _image_folder(root / "test" if (root / "test").is_dir() else root, transform, num_classes)
    train_set = _image_folder(root / "train", transform, num_classes)
    return _validation_holdout(train_set, train_set.targets, split, validation_size)


# ------------------------------------------------------------------------------------------- local files

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff")


def _holds_class_folders(directory: Path) -> bool:
    """True when ``directory`` has sub-folders that hold image files (an ImageFolder layout)."""
    return any(child.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in child.iterdir())
               for child in directory.iterdir())


def _root_problems(dataset_cfg: dict) -> list[str]:
    root = dataset_cfg.get("root")
    if root is None:
        return [f"dataset.root is not set: name the directory of the {dataset_cfg['name']} data"]
    if not Path(root).is_dir():
        return [f"dataset.root = {root} does not exist: create it with the data set in it (docs/paper-scale.md)"]
    return []


def _cifar10_problems(dataset_cfg: dict) -> list[str]:
    if dataset_cfg.get("download"):
        return [] if dataset_cfg.get("root") else ["dataset.root is not set: name the directory to download "
                                                   "CIFAR-10 into"]
    problems = _root_problems(dataset_cfg)
    root = Path(dataset_cfg.get("root") or ".")
    if problems or (root / "cifar-10-batches-py").is_dir():
        return problems
    if _holds_class_folders(root) or (root / "train").is_dir() and _holds_class_folders(root / "train"):
        return [f"dataset.root = {root} holds class folders of images, not torchvision's cifar-10-batches-py: "
                "set dataset.name: imagefolder to read them (add image_size: 32, crop_padding: 4 for Cohen's "
                "CIFAR-10 augmentation)"]
    return [f"dataset.root = {root} has no cifar-10-batches-py: set dataset.download: true to download CIFAR-10 "
            "there (163 MB, MD5-checked), or copy an extracted cifar-10-batches-py into it"]


def _imagenet_problems(dataset_cfg: dict) -> list[str]:
    if dataset_cfg.get("root") is None or (Path(dataset_cfg["root"]) / "val").is_dir():
        return _root_problems(dataset_cfg)
    return [f"dataset.root = {dataset_cfg['root']} has no val/ folder: download ILSVRC2012 from image-net.org "
            f"(an account is needed) and put the 50,000 validation images in {dataset_cfg['root']}/val/<wnid>/ "
            "(and the training images in train/<wnid>/; docs/paper-scale.md)"]


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
    "digits": DatasetKind(_digits, (), lambda cfg: [], (1, 8, 8), (1797 - DIGITS_TEST_SIZE, DIGITS_TEST_SIZE)),
    "cifar10": DatasetKind(_cifar10, ("root", "download"), _cifar10_problems, (3, 32, 32), (50_000, 10_000)),
    "imagenet": DatasetKind(_imagenet, ("root",), _imagenet_problems, (3, 224, 224), (1_281_167, 50_000)),
    "imagefolder": DatasetKind(_generic_image_folder, ("root", "resize", "image_size", "augment", "crop_padding"),
                               _root_problems),
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
