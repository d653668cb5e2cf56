"""Atomic file output and the certification TSV format (Cohen et al. compatible).

Nothing is ever visible half-written: every writer goes through a temporary file in the same
directory that is fsynced and then renamed over the target with ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)

CERTIFY_COLUMNS = [
    "idx", "label", "predict", "radius", "correct", "time",
    "sigma", "pA_lower", "c_hat", "nA", "nB", "n0A", "n0", "n", "alpha", "seed",
    "n_used", "procedure",
]
FIXED_N = "cohen"  # the procedure column of Cohen et al.'s CERTIFY (N fixed in advance)


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


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    import torch  # here, so that light steps (merging shards) do not pay for importing torch

    with atomic_write(path, "wb") as handle:
        torch.save(obj, handle)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a whole text file atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def format_certify_row(row: dict) -> str:
    """One TSV line in :data:`CERTIFY_COLUMNS` order; radius and pA_lower with 6 decimals."""
    fields = {
        **row,
        "radius": f"{row['radius']:.6f}",
        "pA_lower": f"{row['pA_lower']:.6f}",
        "sigma": f"{row['sigma']:.6f}",
        "time": f"{row['time']:.4f}",
        "alpha": f"{row['alpha']:g}",
    }
    return "\t".join(str(fields[name]) for name in CERTIFY_COLUMNS) + "\n"


def write_certification(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a frame with :data:`CERTIFY_COLUMNS` as our certification TSV, atomically."""
    with atomic_write(path) as handle:
        handle.write("\t".join(CERTIFY_COLUMNS) + "\n")
        for row in frame[CERTIFY_COLUMNS].to_dict("records"):
            handle.write(format_certify_row(row))


_CLOCK_TIME = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d*)?)$")


def parse_time(value: object) -> float:
    """Seconds from float seconds or a ``datetime.timedelta`` string such as ``0:02:32.717239``."""
    text = str(value).strip()
    match = _CLOCK_TIME.match(text)
    if match is None:
        return float(text)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def read_certification(path: str | os.PathLike) -> pd.DataFrame:
    """Read our certification TSV or a published Cohen / SmoothAdv one.

    Cohen writes the radius with 3 significant digits and the time as ``H:MM:SS.ffffff``;
    SmoothAdv writes 4 decimals and float seconds. Extra columns (ours) are kept. Files without a
    ``procedure`` column (published ones, ours before it existed) were made by fixed-N CERTIFY: they read
    as ``procedure = "cohen"`` and, where they have ``n``, ``n_used = n``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"certification file {path} does not exist; run the workflow rule that makes it")
    frame = pd.read_csv(path, sep="\t", dtype={"time": str})
    missing = [c for c in CERTIFY_COLUMNS[:6] if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a certification TSV, missing columns {missing} "
                         f"(expected header: {' '.join(CERTIFY_COLUMNS[:6])})")
    frame["time"] = frame["time"].map(parse_time)
    for name in ("idx", "label", "predict", "correct"):
        frame[name] = frame[name].astype(int)
    frame["radius"] = frame["radius"].astype(float)
    if "procedure" not in frame.columns:
        frame["procedure"] = FIXED_N
        if "n" in frame.columns and "n_used" not in frame.columns:
            frame["n_used"] = frame["n"]
    return frame


def read_tsv(path: str | os.PathLike, required: Sequence[str]) -> pd.DataFrame:
    """A tab-separated result file with the columns ``required`` (clear error otherwise)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; run the workflow rule that makes it")
    frame = pd.read_csv(path, sep="\t")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def require_fixed_n(frame: pd.DataFrame, what: str) -> None:
    """Refuse rows not made by fixed-N CERTIFY: ``what`` recomputes Clopper-Pearson bounds from
    ``nA, n, alpha``, valid only when N was fixed in advance (a sequential certificate is the running
    maximum of per-round bounds at smaller levels, :mod:`insta_rs.sequential`)."""
    if "procedure" in frame.columns:
        others = sorted(set(frame["procedure"].astype(str)) - {FIXED_N})
        if others:
            raise ValueError(f"{what} recomputes fixed-N Clopper-Pearson bounds from the counts, but the "
                             f"certification was made with {others}; certify with certify.procedure: cohen")


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
