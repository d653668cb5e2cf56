"""GPU slots: every GPU job of a run on one machine computes on a device of its own.

The workflow lets up to K GPU jobs run at once on a machine that shows K devices (the Snakefile registers the
global ``gpu`` resource as :func:`slot_count`). Each such job, before CUDA is initialised, claims one device with
:func:`claim`: it takes a non-blocking ``flock`` on one lock file per visible device, in a host-local directory
shared by every run and user (:func:`slots_directory`), and sets ``CUDA_VISIBLE_DEVICES`` to the device it got, so
that ``cuda`` is that device. The lock lives as long as the job's process: the kernel releases it when the job
ends, also after ``kill -9``. When every device is held (by another run, say) the job waits and says so in its log.

Visible devices (:func:`visible_devices`) are the entries of ``CUDA_VISIBLE_DEVICES`` when it is set (indices or
UUIDs: restricting a run works the usual way), else the GPUs the NVIDIA driver shows, found without torch. Lock
files are named by those entries, so runs that name devices the same way share them. Inside a cluster
scheduler's allocation (``SLURM_JOB_ID``, ...) device indices count from 0 in every allocation: the locks are then
scoped to the allocation, so jobs of different allocations never wait for each other, and a local run inside a
multi-GPU allocation still spreads its jobs over the allocation's devices; where the scheduler sets no
``CUDA_VISIBLE_DEVICES`` (it hides other devices by other means), nothing is claimed and its choice stands.

Which device a job runs on is how, not what: it never enters a result. ``INSTA_RS_SIMULATE_GPUS=K`` simulates K
devices for tests on machines without a GPU: the slots are claimed and logged as for real devices, while
``CUDA_VISIBLE_DEVICES`` stays as it is and the job computes on the device kind the run tracks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, MutableMapping

SIMULATE_ENV = "INSTA_RS_SIMULATE_GPUS"
SLOTS_DIR_ENV = "INSTA_RS_GPU_SLOTS_DIR"
SCHEDULER_JOB_ENVS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID")  # a job of a cluster scheduler's allocation
PROC_GPUS = Path("/proc/driver/nvidia/gpus")
_INDEX_DEVICE = re.compile(r"^cuda:(\d+)$")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """A claimed device: its ``CUDA_VISIBLE_DEVICES`` entry, its position among the visible devices and the
    lock file held (open) until the process ends."""

    entry: str
    position: int
    visible: tuple[str, ...]
    simulated: bool
    lock_path: str

    def describe(self) -> str:
        """``GPU 2 (3 of the 4 visible: 0,1,2,3), lock <path>``; ``simulated GPU ...`` for a simulated one."""
        kind = "simulated GPU" if self.simulated else "GPU"
        return (f"{kind} {self.entry} ({self.position + 1} of the {len(self.visible)} visible: "
                f"{','.join(self.visible)}), lock {self.lock_path}")


_claimed: dict[str, tuple[Slot, int]] = {}  # lock directory -> (slot, open descriptor): one claim per process


def simulated_count(environ: Mapping[str, str] = os.environ) -> int:
    """K of ``INSTA_RS_SIMULATE_GPUS=K`` (0 when unset); ValueError for anything but a non-negative integer."""
    value = environ.get(SIMULATE_ENV, "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ValueError(f"{SIMULATE_ENV} = {value!r}: give the number of simulated GPUs (e.g. 3)")
    return int(value)


def installed_gpus(proc_gpus: Path = PROC_GPUS, nvidia_smi: str | None = "nvidia-smi") -> int:
    """GPUs the NVIDIA driver shows on this machine (``/proc/driver/nvidia/gpus``, else ``nvidia-smi -L``),
    without importing torch; 0 without a driver."""
    if proc_gpus.is_dir():
        count = sum(1 for _ in proc_gpus.iterdir())
        if count:
            return count
    command = shutil.which(nvidia_smi) if nvidia_smi else None
    if command is None:
        return 0
    try:
        listing = subprocess.run([command, "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


def visible_devices(environ: Mapping[str, str] = os.environ, proc_gpus: Path = PROC_GPUS,
                    nvidia_smi: str | None = "nvidia-smi") -> tuple[str, ...]:
    """The devices this process may use, as ``CUDA_VISIBLE_DEVICES`` entries: that variable's entries when it is
    set (CUDA stops at the first negative one: ``-1`` or empty hides every device) and a driver (or the
    simulation) shows GPUs, else ``0 .. K-1`` for the K GPUs installed (or simulated)."""
    count = simulated_count(environ) or installed_gpus(proc_gpus, nvidia_smi)
    if count == 0:
        return ()
    if "CUDA_VISIBLE_DEVICES" not in environ:
        return tuple(str(index) for index in range(count))
    entries = []
    for entry in (part.strip() for part in environ["CUDA_VISIBLE_DEVICES"].split(",")):
        if not entry or entry.startswith("-"):
            break
        entries.append(entry)
    return tuple(entries)


def slot_count(device: str, environ: Mapping[str, str] = os.environ) -> int:
    """How many GPU jobs may run at once: one per visible device, one when the config names a device
    (``cuda:1``), and at least one (torch may see a GPU that the driver files do not show, e.g. under WSL)."""
    if _INDEX_DEVICE.match(device):
        return 1
    return max(1, len(visible_devices(environ)))


def slots_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the lock files live: ``INSTA_RS_GPU_SLOTS_DIR``, else ``<tmp>/insta-rs-gpu-slots`` (host-local,
    shared by every run and user), below it ``simulated`` for simulated devices and ``<scheduler>-<job id>`` inside
    a cluster scheduler's allocation."""
    base = Path(environ.get(SLOTS_DIR_ENV) or Path(tempfile.gettempdir(), "insta-rs-gpu-slots"))
    if simulated_count(environ):
        return base / "simulated"
    for name in SCHEDULER_JOB_ENVS:
        if environ.get(name):
            return base / f"{name.split('_')[0].lower()}-{re.sub(r'[^A-Za-z0-9_.-]', '_', environ[name])}"
    return base


def _shared_directory(path: Path) -> None:
    """Create ``path`` (and its parents), world-writable with the sticky bit like /tmp, so other users' runs
    can create their lock files in it."""
    for directory in reversed([path, *path.parents]):
        if not directory.exists():
            try:
                directory.mkdir()
                directory.chmod(0o1777)
            except FileExistsError:
                pass


def _try_lock(path: Path) -> int | None:
    """An open descriptor of ``path`` holding an exclusive ``flock``, or None when another process holds it. The
    file is made writable for every user (the next run may be another user's); a lock needs no write access, so
    a file another user left read-only is locked read-only."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        descriptor = os.open(path, os.O_RDONLY)
    if os.fstat(descriptor).st_uid == os.getuid():
        os.fchmod(descriptor, 0o666)  # the umask narrowed the mode of a file this process created
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    with contextlib.suppress(OSError):  # who holds it, for the waiting jobs' logs
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"pid {os.getpid()} on {os.uname().nodename}\n".encode())
    return descriptor


def _holders(paths: list[Path]) -> str:
    """Who holds the lock files, as they wrote it (``pid 123 on host``)."""
    holders = []
    for path in paths:
        with contextlib.suppress(OSError):
            holders.append(f"{path.stem}: {path.read_text().strip() or '?'}")
    return "; ".join(holders)


def claim(environ: MutableMapping[str, str] = os.environ, poll_s: float = 2.0, say_every_s: float = 60.0,
          only: int | None = None) -> Slot | None:
    """Claim a free visible device (the first free one in order; ``only``: the one at that position) and set
    ``CUDA_VISIBLE_DEVICES`` to it (not for a simulated one); wait while every one is held, logging "waiting for
    a free GPU" every ``say_every_s`` seconds. None (and nothing changed) when no device is visible. Call it
    before CUDA is initialised; a second call in the same process returns the first claim."""
    cuda = sys.modules["torch"].cuda if "torch" in sys.modules else None
    if cuda is not None and (cuda.is_initialized() or getattr(cuda, "_cached_device_count", None) is not None):
        raise RuntimeError("a GPU slot must be claimed before CUDA is initialised (insta_rs.runtime.gpu_slots.claim)")
    directory = slots_directory(environ)
    if str(directory) in _claimed:
        return _claimed[str(directory)][0]
    visible = visible_devices(environ)
    in_allocation = any(environ.get(name) for name in SCHEDULER_JOB_ENVS)
    if not visible or (in_allocation and "CUDA_VISIBLE_DEVICES" not in environ and not simulated_count(environ)):
        return None  # no GPU; or a scheduler that hides its allocation's GPUs otherwise: its choice stands
    candidates = list(enumerate(visible)) if only is None else [(only, visible[only])]
    _shared_directory(directory)
    paths = [directory / f"gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', entry)}.lock" for _, entry in candidates]
    waited_since, said = time.monotonic(), -float("inf")
    while True:
        for (position, entry), path in zip(candidates, paths):
            descriptor = _try_lock(path)
            if descriptor is not None:
                slot = Slot(entry, position, visible, simulated_count(environ) > 0, str(path))
                _claimed[str(directory)] = (slot, descriptor)
                if not slot.simulated:  # a simulated device exists only as its lock
                    environ["CUDA_VISIBLE_DEVICES"] = entry
                return slot
        now = time.monotonic()
        if now - said >= say_every_s:
            said = now
            logger.info("waiting for a free GPU (%.0f s so far): every one of %s is held by another job (%s)",
                        now - waited_since, ",".join(entry for _, entry in candidates), _holders(paths))
        time.sleep(poll_s)
