"""Atomic file output: nothing is ever visible half-written.

Every writer goes through a temporary file in the same directory that is fsynced and then renamed over the
target with ``os.replace``; a damaged file is set aside, never deleted; shard TSVs merge in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

import pandas as pd

logger = logging.getLogger(__name__)
_UMASK = os.umask(0)
os.umask(_UMASK)

@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def set_aside(path: str | os.PathLike, reason: str, label: str = "damaged", announce: bool = True) -> Path:
    """Move a bad file or directory out of the way (never delete it: it may hold valid work), to
    ``<name>.<label>`` (or ``.<label>1``, ...), with its seal (:mod:`insta_rs.workflow.seal`) beside it, and log where it
    went (unless the caller says it, ``announce=False``)."""
    path = Path(path)
    seal = path.with_name(f"{path.name}.seal")
    aside = next(candidate for number in range(1000)
                 if not (candidate := path.with_name(f"{path.name}.{label}{number or ''}")).exists()
                 and not candidate.with_name(f"{candidate.name}.seal").exists())
    path.rename(aside)
    if seal.exists():
        seal.rename(aside.with_name(f"{aside.name}.seal"))
    if announce:
        logger.warning("%s: %s; moved it to %s", path, reason, aside)
    return aside


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    import torch  # here, so that light steps (merging shards) do not pay for importing torch

    with atomic_write(path, "wb") as handle:
        torch.save(obj, handle)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a whole text file atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def read_tsv(path: str | os.PathLike, required: Sequence[str]) -> pd.DataFrame:
    """A tab-separated result file with the columns ``required`` (clear error otherwise)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; run the workflow rule that makes it")
    frame = pd.read_csv(path, sep="\t")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def merge_tsvs(parts: list[str | os.PathLike], out_path: str | os.PathLike) -> None:
    """Concatenate shard TSVs (same header) in the given order into ``out_path``, atomically."""
    header = None
    body: list[str] = []
    for part in parts:
        first, _, rest = Path(part).read_text().partition("\n")
        if header is not None and first != header:
            raise ValueError(f"{part}: header differs from the first shard's; delete the shards and re-run")
        header = first
        body.append(rest)
    with atomic_write(out_path) as handle:
        handle.write(f"{header}\n" + "".join(body))


def merge_shards(shards: list[str], outputs: list[str], log_path: str) -> None:
    """Merge ``shards`` into ``outputs``: the shards of each output in turn, the same number for each (the
    shards of a sharded job that writes several files), noted in ``log_path``."""
    per_output = len(shards) // len(outputs)
    for number, output in enumerate(outputs):
        merge_tsvs(shards[number * per_output:(number + 1) * per_output], output)
    atomic_write_text(log_path, f"merged {per_output} shards into each of {len(outputs)} files\n")
