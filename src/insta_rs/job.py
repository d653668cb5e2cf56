"""A workflow job as its script sees it: what it computes comes from its ``params`` (tracked by Snakemake),
how it computes it from the config's how-keys (the device index, where the data lies, its shard), read
from ``snakemake.config`` and ``snakemake.wildcards``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from insta_rs.device import resolve_device

if TYPE_CHECKING:
    import torch


def job_device(snakemake) -> torch.device:
    """The job's device: the tracked kind (``params.device``, cpu or cuda), on the CUDA device the config names
    (``device: cuda:1``) when it names one."""
    configured = snakemake.config.get("device", "auto")
    return resolve_device(configured if snakemake.params.device == "cuda" and configured.startswith("cuda")
                          else snakemake.params.device)


def job_dataset(snakemake) -> dict:
    """The job's data set: its tracked settings (``params.dataset``) and where the data lies (untracked)."""
    return {**snakemake.config["dataset"], **snakemake.params.dataset}


def job_shard(snakemake) -> str:
    """The ``i-of-K`` shard of the test subset a job covers (``1-of-1`` without sharding)."""
    return snakemake.wildcards.get("scatteritem", "1-of-1")
