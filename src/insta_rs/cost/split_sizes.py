"""The sizes of a data set's splits and its input shape, as ``snakemake cost`` counts them without loading the data
(:mod:`.passes`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from insta_rs.data.datasets import DEFAULT_VALIDATION_SIZE, dataset_kind, select_indices
from insta_rs.data.sources import IMAGE_SUFFIXES


@dataclass(frozen=True)
class Splits:
    """Examples per split (the test subset, the validation split, the training split) and the input shape."""

    test: int
    validation: int
    train: int
    shape: tuple[int, ...]


def _count_images(directory: Path) -> int:
    return sum(1 for path in directory.glob("*/*") if path.suffix.lower() in IMAGE_SUFFIXES)


def splits(dataset_cfg: dict) -> Splits:
    """:class:`Splits` from the data set's kind (its sizes and shape; an image folder's are read from disk)."""
    kind = dataset_kind(dataset_cfg)
    validation = int(dataset_cfg.get("validation_size", DEFAULT_VALIDATION_SIZE))
    shape, sizes = kind.shape, kind.sizes
    if shape is None:
        if not dataset_cfg.get("image_size"):
            raise ValueError("dataset.image_size is not set: snakemake cost needs the input size of the images")
        shape = (3, dataset_cfg["image_size"], dataset_cfg["image_size"])
    if sizes is None:
        root = Path(dataset_cfg.get("root") or "")
        test_dir = root / "test" if (root / "test").is_dir() else root
        sizes = (_count_images(root / "train"), _count_images(test_dir))
        if not sizes[1]:
            raise ValueError(f"dataset.root = {dataset_cfg.get('root')}: no images in class folders there, which "
                             "snakemake cost counts for an image folder")
    test = len(select_indices(sizes[1], dataset_cfg.get("test_subset", {"all": True})))
    train = max(sizes[0] - validation, 0)
    if dataset_cfg.get("train_subset") and train:
        train = len(select_indices(train, dataset_cfg["train_subset"], "dataset.train_subset"))
    return Splits(test, validation, train, tuple(shape))
