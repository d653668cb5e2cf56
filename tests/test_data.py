"""Tests for insta_rs.data.datasets: digits splits, subsets, indexed items, the augment switch, errors for missing data."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from insta_rs.data import datasets as data
from insta_rs.data import sources

DIGITS = {"name": "digits", "root": None, "num_classes": 10, "validation_size": 200, "test_subset": {"all": True}}


def test_digits_split_sizes_disjoint_and_stratified():
    indices = sources.digits_split_indices(200)
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
    original = sources.digits_split_indices(200)["test"][3]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32
    assert torch.allclose(x[0], torch.from_numpy(bunch.images[original] / 16).float())
    assert y == bunch.target[original] and isinstance(y, int)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_digits_split_is_fixed_and_validation_size_changes_only_train():
    small = sources.digits_split_indices(100)
    default = sources.digits_split_indices(200)
    assert np.array_equal(small["test"], default["test"])
    assert len(small["train"]) == 1197 and len(sources.digits_split_indices(0)["validation"]) == 0


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
    with pytest.raises(FileNotFoundError, match="dataset.root.*prepare_data"):
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


def _write_cifar10_batches(root, n_per_batch, seed=0):
    """A CIFAR-10 directory in torchvision's format (random pixels); returns the train images as uint8 HWC."""
    import pickle

    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_images = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = rng.integers(0, 256, size=(n_per_batch, 3 * 32 * 32), dtype=np.uint8)
        labels = [i % 10 for i in range(n_per_batch)]  # every class in every batch: stratified splits work
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": pixels, "labels": labels}, handle)
        if name != "test_batch":
            train_images.append(pixels.reshape(-1, 3, 32, 32))
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{c}" for c in range(10)]}, handle)
    return np.concatenate(train_images)


def test_cifar10_train_split_without_augmentation(tmp_path, monkeypatch):
    """augment=False gives the stored pixels / 255 (deterministic); augment=True Cohen's random crop + flip."""
    from torchvision.datasets import cifar

    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)  # our files are not the real MD5s
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: True)
    train_images = _write_cifar10_batches(tmp_path, n_per_batch=10)
    cfg = {"name": "cifar10", "root": str(tmp_path), "num_classes": 10, "validation_size": 10}
    plain = data.load_split(cfg, "train", augment=False)
    assert len(plain) == 40 and len(data.load_split(cfg, "validation", augment=False)) == 10
    positions = plain.indices  # positions in the 50 stored training images
    for i in range(len(plain)):
        x, _ = plain[i]
        expected = torch.from_numpy(train_images[positions[i]]).float() / 255
        assert x.shape == (3, 32, 32) and torch.allclose(x, expected)
    torch.manual_seed(0)
    augmented = data.load_split(cfg, "train")
    changed = [not torch.equal(augmented[i][0], plain[i][0]) for i in range(len(plain))]
    assert sum(changed) >= len(plain) // 2  # a crop offset or flip moves random pixels almost surely
    validation = data.load_split(cfg, "validation")  # never augmented
    assert torch.equal(validation[0][0], data.load_split(cfg, "validation", augment=False)[0][0])


def test_digits_ignore_augment():
    assert torch.equal(data.load_split(DIGITS, "train", augment=False)[5][0], data.load_split(DIGITS, "train")[5][0])


def test_imagefolder_train_without_augmentation_is_center_crop(tmp_path):
    _write_image_folder(tmp_path / "train", 2, 3, 12)
    cfg = {"name": "imagefolder", "root": str(tmp_path), "num_classes": 2, "validation_size": 2, "image_size": 8}
    plain = data.load_split(cfg, "train", augment=False)
    first = plain.indices[0]
    pixels = np.array(Image.open(plain.dataset.samples[first][0]).convert("RGB"))[2:10, 2:10]
    assert torch.allclose(plain[0][0], torch.from_numpy(pixels).permute(2, 0, 1).float() / 255)
