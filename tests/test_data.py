"""Tests for insta_rs.data: digits splits, subsets, indexed items, clear errors for missing data."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from insta_rs import data

DIGITS = {"name": "digits", "root": None, "num_classes": 10, "validation_size": 200, "test_subset": {"all": True}}


def test_digits_split_sizes_disjoint_and_stratified():
    indices = data.digits_split_indices(200)
    sizes = {name: len(part) for name, part in indices.items()}
    assert sizes == {"train": 1797 - 500 - 200, "validation": 200, "test": 500}
    union = np.concatenate(list(indices.values()))
    assert len(np.unique(union)) == 1797
    labels = load_digits().target
    test_counts = np.bincount(labels[indices["test"]], minlength=10)
    proportional = np.bincount(labels, minlength=10) * 500 / 1797
    assert np.all(np.abs(test_counts - proportional) < 1)  # stratified: class shares as in the whole set


def test_digits_items_are_scaled_images_matching_load_digits():
    bunch = load_digits()
    test_set = data.load_split(DIGITS, "test")
    x, y = test_set[3]
    original = data.digits_split_indices(200)["test"][3]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32
    assert torch.allclose(x[0], torch.from_numpy(bunch.images[original] / 16).float())
    assert y == bunch.target[original] and isinstance(y, int)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_digits_split_is_fixed_and_validation_size_changes_only_train():
    small = data.digits_split_indices(100)
    default = data.digits_split_indices(200)
    assert np.array_equal(small["test"], default["test"])
    assert len(small["train"]) == 1197 and len(data.digits_split_indices(0)["validation"]) == 0


def test_select_indices_forms():
    assert data.select_indices(100, {"every": 20}).tolist() == [0, 20, 40, 60, 80]
    assert data.select_indices(1000, {"start": 500, "stop": 503}).tolist() == [500, 501, 502]
    assert data.select_indices(5, {"all": True}).tolist() == [0, 1, 2, 3, 4]
    assert data.select_indices(100, {"every": 20, "limit": 2}).tolist() == [0, 20]
    assert data.select_indices(100, {"every": 20}).dtype == np.int64


@pytest.mark.parametrize("subset", [{"every": 0}, {"start": 5, "stop": 2}, {"start": 0, "stop": 101},
                                    {"all": False}, {"skip": 20}, {}, {"every": 2, "limit": 0}])
def test_select_indices_rejects_bad_config(subset):
    with pytest.raises(ValueError, match="dataset.test_subset"):
        data.select_indices(100, subset)


def test_test_tensors_returns_original_indices():
    x, labels, indices = data.test_tensors({**DIGITS, "test_subset": {"every": 20}})
    test_set = data.load_split(DIGITS, "test")
    assert x.shape == (25, 1, 8, 8) and indices.dtype == torch.long and labels.dtype == torch.long
    assert indices.tolist() == list(range(0, 500, 20))
    assert torch.equal(x[2], test_set[40][0]) and labels[2] == test_set[40][1]


def test_indexed_dataset_yields_index():
    indexed = data.IndexedDataset(data.load_split(DIGITS, "train"))
    x, y, index = indexed[7]
    assert index == 7 and len(indexed) == 1097
    assert torch.equal(x, data.load_split(DIGITS, "train")[7][0])


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="dataset.name"):
        data.load_split({"name": "mnist"}, "test")
    with pytest.raises(ValueError, match="split"):
        data.load_split(DIGITS, "val")


def test_missing_cifar10_names_root_and_rule(tmp_path):
    cfg = {"name": "cifar10", "root": str(tmp_path), "num_classes": 10}
    with pytest.raises(FileNotFoundError, match="dataset.root.*download_cifar10"):
        data.load_split(cfg, "test")
    with pytest.raises(FileNotFoundError, match="dataset.root"):
        data.load_split({**cfg, "root": str(tmp_path / "absent")}, "train")
    with pytest.raises(ValueError, match="dataset.root is null"):
        data.load_split({**cfg, "root": None}, "test")


def test_missing_imagenet_val_names_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset.root|val"):
        data.load_split({"name": "imagenet", "root": str(tmp_path), "num_classes": 1000}, "test")


def _write_image_folder(root, n_classes, n_per_class, size):
    rng = np.random.default_rng(0)
    for c in range(n_classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"class{c}" / f"{i}.png")


def test_imagefolder_splits_and_transform(tmp_path):
    _write_image_folder(tmp_path / "train", 2, 5, 12)
    _write_image_folder(tmp_path / "test", 2, 3, 12)
    cfg = {"name": "imagefolder", "root": str(tmp_path), "num_classes": 2, "validation_size": 2,
           "resize": 10, "image_size": 8, "test_subset": {"all": True}}
    x, labels, indices = data.test_tensors(cfg)
    assert x.shape == (6, 3, 8, 8) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert len(data.load_split(cfg, "train")) == 8 and len(data.load_split(cfg, "validation")) == 2
    assert data.load_split(cfg, "train")[0][0].shape == (3, 8, 8)
    with pytest.raises(ValueError, match="num_classes"):
        data.load_split({**cfg, "num_classes": 3}, "test")


def test_prepare_dataset_digits_is_a_check_only():
    assert data.prepare_dataset(DIGITS) == {"train": 1097, "test": 500, "validation": 200}
