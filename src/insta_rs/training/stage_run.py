"""How a training stage runs: what it writes (:class:`StageOutput`), where and how it computes (:class:`Execution`),
and the job of a model's training steps (:class:`TrainingJob`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from insta_rs.runtime.device import autocast_dtype


@dataclass(frozen=True)
class StageOutput:
    """What a stage writes: the final checkpoint ``path`` (``<path>.partial`` after every epoch), the levels after
    every update epoch (``levels_dir/epoch_<k>.tsv``, adaptive mode) and the history TSV (``history_path``)."""

    path: str | os.PathLike
    levels_dir: str | os.PathLike | None = None
    history_path: str | os.PathLike | None = None


@dataclass(frozen=True)
class Execution:
    """How a stage runs: on ``device``, under autocast to ``autocast_dtype`` (None: fp32), with ``num_workers``
    DataLoader workers; ``stop_after_epoch`` ends the run after that epoch's checkpoint, as an interruption would."""

    device: torch.device
    autocast_dtype: torch.dtype | None = None
    num_workers: int = 0
    stop_after_epoch: int | None = None


@dataclass(frozen=True)
class TrainingJob:
    """What is trained and how: architecture ``arch`` with its ``input_layer``, the config entry ``where`` (named in
    errors), the ``device``, the ``precision`` (``fp32``, ``bf16``, ``fp16``) and the DataLoader workers."""

    arch: str
    input_layer: dict
    where: str
    device: torch.device
    precision: str = "fp32"
    num_workers: int = 0

    def execution(self) -> Execution:
        return Execution(self.device, autocast_dtype(self.precision), self.num_workers)
