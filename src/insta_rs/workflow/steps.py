"""Glue shared by the search and certification scripts: the smoother a job certifies with, the examples it
covers, the sigma a search assigned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from insta_rs.certification.smoothing import Smoother
from insta_rs.data.datasets import load_split, test_tensors
from insta_rs.models.checkpoints import load_model
from insta_rs.runtime.device import autocast_dtype


def make_smoother(checkpoint: str, batch_size: int, device: torch.device, precision: str) -> Smoother:
    """A :class:`Smoother` over the checkpoint's model (its number of classes from the checkpoint)."""
    model = load_model(checkpoint, device)
    return Smoother(model, model.num_classes, batch_size, device, autocast_dtype(precision))


def examples(dataset_cfg: dict, split: str) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``(x, labels, idx)`` of the test subset (``split="test"``) or the whole validation split."""
    if split == "test":
        x, labels, idx = test_tensors(dataset_cfg)
        return x, labels.numpy(), idx.numpy()
    dataset = load_split(dataset_cfg, split)
    items = [dataset[i] for i in range(len(dataset))]
    x = torch.stack([item[0] for item in items])
    return x, np.array([item[1] for item in items]), np.arange(len(items))


def shard_positions(n_examples: int, scatteritem: str) -> np.ndarray:
    """Positions of shard ``i`` of ``"i-of-K"``: contiguous, in order, ``np.array_split`` sizes."""
    index, _, count = scatteritem.partition("-of-")
    return np.array_split(np.arange(n_examples), int(count))[int(index) - 1]


def assigned_sigma(assignment_tsv: str, idx: np.ndarray) -> np.ndarray:
    """The per-example sigma of a search TSV (columns ``idx``, ``sigma``), in the order of ``idx``."""
    table = pd.read_csv(assignment_tsv, sep="\t").set_index("idx")["sigma"]
    missing = np.setdiff1d(idx, table.index.to_numpy())
    if len(missing):
        raise ValueError(f"{assignment_tsv} has no sigma for test examples {missing[:10].tolist()}; "
                         "re-run its search rule for the current dataset.test_subset")
    return table.loc[idx].to_numpy(dtype=float)
