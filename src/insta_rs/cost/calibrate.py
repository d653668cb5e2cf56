"""Throughput of an architecture on this machine, for ``snakemake cost`` (:mod:`insta_rs.cost.bill`): noisy
forward passes per second of the certification engine (:meth:`insta_rs.certification.smoothing.Smoother.sample_counts`: noise,
forward pass, counting) with random weights on random inputs, so no checkpoint or data set is needed.

Bounded by a time budget: a probe batch gives the time per sample; the measured batch is the configured one, or
the largest whose pass fits in a quarter of the budget when that is smaller (a 224 x 224 ResNet-50 on two CPU
cores); passes are timed until the budget is spent (at least two, at most :data:`MAX_PASSES`).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from insta_rs.certification.noise import ESTIMATION
from insta_rs.certification.smoothing import Smoother
from insta_rs.models.architectures import build_model
from insta_rs.runtime.device import autocast_dtype

PROBE_BATCH = 8
MAX_PASSES = 50


@dataclass(frozen=True)
class Throughput:
    """Measured forward passes per second of ``arch`` on ``shape`` at ``batch_size`` (the config asks for
    ``configured_batch``), over ``passes`` timed passes that took ``seconds``."""

    arch: str
    shape: tuple[int, ...]
    configured_batch: int
    batch_size: int
    passes: int
    seconds: float
    passes_per_s: float


def device_description(device: torch.device) -> str:
    """``cuda: NVIDIA H100 80GB HBM3`` or ``cpu: x86_64, 1 thread``."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    threads = torch.get_num_threads()
    return f"cpu: {platform.processor() or platform.machine()}, {threads} thread{'s' * (threads != 1)}"


def _timed_pass(smoother: Smoother, x: torch.Tensor, batch_size: int) -> float:
    """Seconds of one full forward batch of the engine (its counts come back to the host, which synchronises)."""
    smoother.batch_size = batch_size
    start = time.perf_counter()
    smoother.sample_counts(x, np.full(1, 0.5), np.zeros(1, dtype=int), batch_size, 0, ESTIMATION)
    return time.perf_counter() - start


def measure(arch: str, shape: Sequence[int], num_classes: int, batch_size: int, device: torch.device,
            precision: str, budget_s: float) -> Throughput:
    """:class:`Throughput` of ``arch`` (random weights, seed 0) at ``precision``, within about ``budget_s``."""
    torch.manual_seed(0)
    model = build_model(arch, num_classes, {"kind": "none"})
    smoother = Smoother(model, num_classes, batch_size, device, autocast_dtype(precision))
    x = torch.rand((1, *shape))
    start = time.perf_counter()
    probe = min(batch_size, PROBE_BATCH)
    _timed_pass(smoother, x, probe)  # warm-up: allocation, kernel selection
    per_sample = _timed_pass(smoother, x, probe) / probe
    batch = min(batch_size, max(probe, int(budget_s / 4 / per_sample)))
    _timed_pass(smoother, x, batch)
    times: list[float] = []
    while len(times) < 2 or (len(times) < MAX_PASSES and time.perf_counter() - start < budget_s):
        times.append(_timed_pass(smoother, x, batch))
    return Throughput(arch, tuple(shape), batch_size, batch, len(times), sum(times), batch * len(times) / sum(times))
