"""A workflow job as its script sees it: what it computes comes from its ``params`` (tracked by Snakemake),
how it computes it from the config's how-keys (the device index, where the data lies, its shard), read
from ``snakemake.config`` and ``snakemake.wildcards``."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from insta_rs.runtime import gpu_slots
from insta_rs.runtime.device import resolve_device

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


def job_device(snakemake) -> torch.device:
    """The job's device: the tracked kind (``params.device``, cpu or cuda). A job given a GPU by the scheduler
    (``resources.gpu``) first claims a device of its own (:mod:`insta_rs.runtime.gpu_slots`; the one the config names with
    ``device: cuda:1``), so that ``cuda`` is that device. The log names the device."""
    configured, kind = snakemake.config.get("device", "auto"), snakemake.params.device
    slot = None
    if snakemake.resources.get("gpu", 0) >= 1:
        named = re.fullmatch(r"cuda:(\d+)", configured)
        position = int(named[1]) if named else None
        visible = gpu_slots.visible_devices()
        if position is not None and position >= len(visible) > 0:
            raise ValueError(f"device: {configured!r}, but this machine shows {len(visible)} GPU(s) "
                             f"({','.join(visible)}); name one of cuda:0 .. cuda:{len(visible) - 1}")
        slot = gpu_slots.claim(only=position)
    if kind == "cpu":
        device = resolve_device("cpu")
    elif slot is not None and not slot.simulated:
        device = resolve_device("cuda")  # the claimed device is the only one the job sees now
    else:
        device = resolve_device(configured if configured.startswith("cuda:") else "cuda")
    if slot is None:
        logger.info("device: %s", device)
    elif slot.simulated:
        logger.info("device: %s, holding %s; the job computes on the %s", device, slot.describe(), device.type)
    else:
        import torch

        logger.info("device: %s = %s, holding %s", device, torch.cuda.get_device_name(device), slot.describe())
    return device


def job_dataset(snakemake) -> dict:
    """The job's data set: its tracked settings (``params.dataset``) and where the data lies (untracked)."""
    return {**snakemake.config["dataset"], **snakemake.params.dataset}


def job_shard(snakemake) -> str:
    """The ``i-of-K`` shard of the test subset a job covers (``1-of-1`` without sharding)."""
    return snakemake.wildcards.get("scatteritem", "1-of-1")
