"""Device and precision selection: one code path for CPU tests and GPU runs.

The device *kind* (cpu or cuda) is part of what a run computes (the two draw different noise streams), so
the workflow resolves it once, when it builds the DAG (:func:`device_kind`, torch-free), and tracks it; the
index of a CUDA device (``cuda:1``) is how, not what.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, ContextManager

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16", "fp16")


def gpu_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU to this process (driver present, CUDA_VISIBLE_DEVICES not
    empty), without importing torch; simulated GPUs (insta_rs.runtime.gpu_slots) do not count."""
    from insta_rs.runtime.gpu_slots import SIMULATE_ENV, visible_devices

    return bool(visible_devices({key: value for key, value in os.environ.items() if key != SIMULATE_ENV}))


def device_kind(name: str) -> str:
    """``cpu`` or ``cuda`` for a config ``device``: ``auto`` is ``cuda`` when :func:`gpu_visible`."""
    if name == "auto":
        return "cuda" if gpu_visible() else "cpu"
    return "cuda" if name.startswith("cuda") else "cpu"


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device: '{name}' was requested but no CUDA GPU is visible; set device: auto or cpu")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ValueError(f"device: unknown value '{name}'; use auto, cpu or cuda[:N]")
    return torch.device(name)


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype for ``fp32`` (None: no autocast), ``bf16`` or ``fp16``."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision: unknown value '{precision}'; use one of {', '.join(PRECISIONS)}")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device: torch.device, dtype: torch.dtype | None) -> ContextManager:
    """Autocast for forward passes, or a no-op when ``dtype`` is None (fp16 falls back to bf16 on CPU)."""
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    if device.type == "cpu" and dtype == torch.float16:
        dtype = torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def tune_for_throughput(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Channels-last memory format (oneDNN on CPU and cuDNN on GPU run convolutions faster in it) and cuDNN
    autotuning on CUDA (inputs have a fixed shape)."""
    import torch

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return model.to(memory_format=torch.channels_last)
