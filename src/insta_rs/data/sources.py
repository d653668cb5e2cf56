"""Where the images come from: the loader of each source (digits, CIFAR-10, ImageNet, an image folder), with its
train / validation hold-out, and what a source lacks on disk.

A loader ``(dataset_cfg, split, validation_size, augment)`` returns the split with items ``(x, y)``: ``x`` a float32
tensor [C, H, W] in [0, 1], ``y`` an int. The validation split is a stratified hold-out of the training images
(``random_state`` :data:`SPLIT_SEED`). torch, torchvision and scikit-learn are imported when data is loaded.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

DIGITS_TEST_SIZE = 500
SPLIT_SEED = 0


class TensorImageDataset:
    """Images and labels held in memory: item ``i`` is ``(images[i], int(labels[i]))``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


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


def load_digits_split(dataset_cfg: dict, split: str, validation_size: int, augment: bool) -> TensorImageDataset:
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


def load_cifar10(dataset_cfg: dict, split: str, validation_size: int, augment: bool) -> Subset:
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


def load_imagenet(dataset_cfg: dict, split: str, validation_size: int, augment: bool):
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


def load_image_folder(dataset_cfg: dict, split: str, validation_size: int, augment: bool):
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


# ------------------------------------------------------------------------------------------ what is on disk

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff")


def _holds_class_folders(directory: Path) -> bool:
    """True when ``directory`` has sub-folders that hold image files (an ImageFolder layout)."""
    return any(child.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in child.iterdir())
               for child in directory.iterdir())


def root_problems(dataset_cfg: dict) -> list[str]:
    root = dataset_cfg.get("root")
    if root is None:
        return [f"dataset.root is not set: name the directory of the {dataset_cfg['name']} data"]
    if not Path(root).is_dir():
        return [f"dataset.root = {root} does not exist: create it with the data set in it (docs/paper-scale.md)"]
    return []


def cifar10_problems(dataset_cfg: dict) -> list[str]:
    if dataset_cfg.get("download"):
        return [] if dataset_cfg.get("root") else ["dataset.root is not set: name the directory to download "
                                                   "CIFAR-10 into"]
    problems = root_problems(dataset_cfg)
    root = Path(dataset_cfg.get("root") or ".")
    if problems or (root / "cifar-10-batches-py").is_dir():
        return problems
    if _holds_class_folders(root) or (root / "train").is_dir() and _holds_class_folders(root / "train"):
        return [f"dataset.root = {root} holds class folders of images, not torchvision's cifar-10-batches-py: "
                "set dataset.name: imagefolder to read them (add image_size: 32, crop_padding: 4 for Cohen's "
                "CIFAR-10 augmentation)"]
    return [f"dataset.root = {root} has no cifar-10-batches-py: set dataset.download: true to download CIFAR-10 "
            "there (163 MB, MD5-checked), or copy an extracted cifar-10-batches-py into it"]


def imagenet_problems(dataset_cfg: dict) -> list[str]:
    if dataset_cfg.get("root") is None or (Path(dataset_cfg["root"]) / "val").is_dir():
        return root_problems(dataset_cfg)
    return [f"dataset.root = {dataset_cfg['root']} has no val/ folder: download ILSVRC2012 from image-net.org "
            f"(an account is needed) and put the 50,000 validation images in {dataset_cfg['root']}/val/<wnid>/ "
            "(and the training images in train/<wnid>/; docs/paper-scale.md)"]
