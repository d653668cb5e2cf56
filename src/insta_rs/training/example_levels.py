"""Per-example noise levels of a training set: sigma, histogram and the ``index level sigma`` TSV.

Level ``l`` stands for ``sigma_l = sqrt(l) * sigma0``; levels are int64 tensors indexed by the position
of the example in the training split (the index an ``IndexedDataset`` yields).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import torch

from insta_rs.files import atomic_write
from insta_rs.levels import level_sigma

LEVEL_COLUMNS = ["index", "level", "sigma"]


def levels_to_sigma(levels: torch.Tensor, sigma0: float) -> torch.Tensor:
    """:func:`insta_rs.levels.level_sigma` of integer levels as float32 on the levels' device."""
    return torch.from_numpy(level_sigma(levels.cpu().numpy(), sigma0)).to(torch.float32).to(levels.device)


def level_histogram(levels: torch.Tensor, n_levels: int) -> list[int]:
    """Number of examples at each level ``1..n_levels``."""
    return torch.bincount(levels.cpu(), minlength=n_levels + 1)[1:].tolist()


def write_levels_tsv(path: str | os.PathLike, levels: torch.Tensor, sigma0: float) -> None:
    """Write ``index level sigma`` (sigma with 6 decimals), one row per training example, atomically."""
    levels = levels.cpu()
    sigma = levels_to_sigma(levels, sigma0)
    with atomic_write(path, "w") as handle:
        handle.write("\t".join(LEVEL_COLUMNS) + "\n")
        for index, (level, value) in enumerate(zip(levels.tolist(), sigma.tolist())):
            handle.write(f"{index}\t{level}\t{value:.6f}\n")


def read_levels_tsv(path: str | os.PathLike, n_examples: int, n_levels: int) -> torch.Tensor:
    """Levels ``[n_examples]`` (int64) from a TSV written by :func:`write_levels_tsv`, checked for completeness."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"levels file {path} does not exist; run the rule that assigns the levels")
    frame = pd.read_csv(path, sep="\t")
    if list(frame.columns[:2]) != LEVEL_COLUMNS[:2]:
        raise ValueError(f"{path}: expected columns {' '.join(LEVEL_COLUMNS)}, got {' '.join(frame.columns)}")
    if sorted(frame["index"].tolist()) != list(range(n_examples)):
        raise ValueError(f"{path}: indices must be 0..{n_examples - 1} once each (the training split has "
                         f"{n_examples} examples); was it made for another dataset?")
    levels = torch.zeros(n_examples, dtype=torch.int64)
    levels[torch.as_tensor(frame["index"].to_numpy())] = torch.as_tensor(frame["level"].to_numpy(), dtype=torch.int64)
    if levels.min() < 1 or levels.max() > n_levels:
        raise ValueError(f"{path}: levels must lie in 1..{n_levels}, found {levels.min()}..{levels.max()}")
    return levels
