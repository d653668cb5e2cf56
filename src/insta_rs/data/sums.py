"""sha256 sums of files, and the sums of downloaded archives recorded at their first download (trust on first use).

The published sums of the archives the workflow downloads are unknown, so the first successful download of each
records its sum in ``SHA256SUMS`` beside the archive folders (``resources/pretrained/SHA256SUMS``, in the format
of ``sha256sum``: ``sha256sum -c SHA256SUMS`` there checks them by hand), and every later download and every
import of the archive is checked against it. Keep that file: it is what tells a changed archive from the one the
results were computed with.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

RECORDED_SUMS = "SHA256SUMS"
CHUNK_BYTES = 1 << 20


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str) -> str:
    """sha256 of ``path``; ValueError naming the file, expected and got when it is not ``expected``."""
    got = sha256_of(path)
    if got != expected.lower():
        raise ValueError(f"sha256 mismatch for {path}: expected {expected}, got {got}")
    return got


def recorded_sums(archive: str | os.PathLike) -> Path:
    """The file of recorded sums for a downloaded ``archive`` (``<archives>/<source>/archive``):
    ``<archives>/SHA256SUMS``."""
    return Path(archive).parent.parent / RECORDED_SUMS


def check_archive(archive: str | os.PathLike, expected: str | None = None) -> str:
    """Check a downloaded archive: against ``expected`` (the catalog's or the config's sha256) when given, else
    against the sum its first download recorded (:func:`recorded_sums`), else record its sum (trust on first use).
    Its sha256; ValueError naming the file, both sums and what to do when they differ."""
    archive = Path(archive)
    if expected:
        return verify_sha256(archive, expected)
    got, sums, name = sha256_of(archive), recorded_sums(archive), f"{archive.parent.name}/{archive.name}"
    with open(sums, "a+") as handle:  # one process at a time reads and appends (fetches and imports run in parallel)
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        recorded = dict(reversed(line.split(maxsplit=1)) for line in handle.read().splitlines() if line.strip())
        if name not in recorded:
            handle.write(f"{got}  {name}\n")
            handle.flush()
            os.fsync(handle.fileno())
            logger.info("sha256 of %s = %s, recorded in %s: every later download and import of it is checked "
                        "against it", archive, got, sums)
    if recorded.get(name, got) != got:
        raise ValueError(f"sha256 mismatch for {archive}: {got}, but its first download recorded {recorded[name]} in "
                         f"{sums}: the archive changed at its source or on the way. Delete {archive} to download it "
                         f"again; if its publisher replaced it on purpose, delete its line in {sums} first")
    return got
