"""Seals: what the workflow wrote, recorded beside it, so that any later change to a result is found.

``<result>.seal`` (JSON, written atomically right after the result) records the result's name within its run,
its size and sha256 (for a directory result, those of every file in it), a short digest of every line of a text
file (so that a check names the first line that differs, or says that lines were removed, added or cut short), the
protocol the result was computed under (:mod:`insta_rs.workflow.protocols`) and the sha256 of the results it was computed
from. :func:`damage` compares a result with its seal; it reads bytes only, so a file of random bytes is described,
never decoded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from insta_rs.files import atomic_write_text

SUFFIX = ".seal"
FORMAT = 1
LINE_DIGEST_BYTES = 64 << 20  # text files up to this size get per-line digests
_CHUNK = 1 << 20


class SealError(ValueError):
    """A seal that cannot be read: it is damaged itself."""


def seal_path(path: str | os.PathLike) -> Path:
    """Where the seal of result ``path`` lies: ``<path>.seal``."""
    return Path(f"{path}{SUFFIX}")


def _line_digests(data: bytes) -> list[str]:
    """8 hex digits of the sha256 of every line (the last entry: what follows the last newline, empty for a
    complete file)."""
    return [hashlib.sha256(line).hexdigest()[:8] for line in data.split(b"\n")]


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read(path: Path) -> tuple[int, str, bytes | None]:
    """Size, sha256 and, up to :data:`LINE_DIGEST_BYTES`, the content of a file."""
    digest, size = hashlib.sha256(), path.stat().st_size
    with open(path, "rb") as handle:
        if size <= LINE_DIGEST_BYTES:
            data = handle.read()
            digest.update(data)
            return len(data), digest.hexdigest(), data
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return size, digest.hexdigest(), None


def _directory_files(path: Path) -> list[str]:
    """The files of a directory result, by name below it; hidden ones (Snakemake's ``.snakemake_timestamp``) are
    not part of it."""
    return sorted(str(file.relative_to(path)) for file in path.rglob("*")
                  if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts))


def fingerprint(path: str | os.PathLike) -> dict:
    """``{"size", "sha256", "lines"}`` of a file (``lines``: per-line digests of a text file, else None);
    ``{"sha256", "files": {name: fingerprint}}`` of a directory (its sha256: of its files' names and sha256; hidden
    files are not part of it)."""
    path = Path(path)
    if path.is_dir():
        files = {name: fingerprint(path / name) for name in _directory_files(path)}
        listing = json.dumps({name: print_["sha256"] for name, print_ in files.items()}, sort_keys=True)
        return {"sha256": hashlib.sha256(listing.encode()).hexdigest(), "files": files}
    size, sha256, data = _read(path)
    lines = _line_digests(data) if data is not None and _is_text(data) else None
    return {"size": size, "sha256": sha256, "lines": lines}


def write_seal(path: str | os.PathLike, name: str, protocol: dict, protocol_key: str, inputs: dict[str, str]) -> None:
    """Seal result ``path`` (called ``name`` within its run): its fingerprint, its protocol and key, and the
    sha256 of the results it was computed from (``inputs``, by name)."""
    record = {"format": FORMAT, "name": name, **fingerprint(path), "protocol_key": protocol_key,
              "protocol": protocol, "inputs": inputs}
    atomic_write_text(seal_path(path), json.dumps(record, sort_keys=True) + "\n")


def read_seal(path: str | os.PathLike) -> dict | None:
    """The seal of result ``path``; None when it has none; SealError when the seal cannot be read."""
    try:
        text = seal_path(path).read_bytes()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SealError(f"{seal_path(path)} is damaged (not a seal)") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or "sha256" not in record:
        raise SealError(f"{seal_path(path)} is damaged (not a seal)")
    return record


def damage(path: str | os.PathLike, seal: dict, name: str) -> str | None:
    """What differs between result ``path`` (called ``name`` in its run) and what its seal records, or None
    when it is what the workflow wrote: another name, a missing or extra file of a directory, a changed size or
    content (for text: the first line that differs, or lines removed, added or cut short)."""
    if seal.get("name") != name:
        return f"is a copy of {seal.get('name')}, not the result written here"
    path = Path(path)
    if "files" in seal:
        if not path.is_dir():
            return "is no longer a directory"
        now = set(_directory_files(path))
        missing, extra = sorted(set(seal["files"]) - now), sorted(now - set(seal["files"]))
        if missing:
            return f"lacks {', '.join(missing)}"
        if extra:
            return f"holds files the workflow did not write: {', '.join(extra)}"
        for file, recorded in seal["files"].items():
            problem = _file_damage(path / file, recorded)
            if problem:
                return f"{file}: {problem}"
        return None
    if not path.is_file():
        return "is no longer a file"
    return _file_damage(path, seal)


def _file_damage(path: Path, recorded: dict) -> str | None:
    """:func:`damage` of one file against its recorded fingerprint."""
    size, sha256, data = _read(path)
    if sha256 == recorded["sha256"] and size == recorded["size"]:
        return None
    if recorded.get("lines") is None or data is None:
        return (f"is not what the workflow wrote ({size} bytes, sha256 {sha256[:12]}...; written: "
                f"{recorded['size']} bytes, sha256 {recorded['sha256'][:12]}...)")
    return describe_lines(recorded["lines"], _line_digests(data)) + ("" if _is_text(data) else " (it is not text)")


def describe_lines(written: list[str], now: list[str]) -> str:
    """Where the lines of a text file (``now``, per-line digests) depart from those the workflow ``written``:
    the first line that differs, lines removed or added there (a duplicate named as such), or the file cut short.
    Lines are numbered from 1 (a TSV's header)."""
    first = next((i for i, (a, b) in enumerate(zip(written, now)) if a != b), min(len(written), len(now)))
    line = first + 1
    if len(now) < len(written):
        removed = len(written) - len(now)
        if now[first:] == written[first + removed:]:
            return f"line{'s' * (removed > 1)} {line}{f'-{line + removed - 1}' * (removed > 1)} removed"
        if first == len(now) - 1:
            return f"line {line}: cut short (the file was truncated; {len(written) - 1} lines written)"
    if len(now) > len(written):
        added = len(now) - len(written)
        if now[first + added:] == written[first:]:
            copies = [str(written.index(digest) + 1) for digest in now[first:first + added] if digest in written]
            what = f"a copy of line {', '.join(copies)}" if len(copies) == added else "not written by the workflow"
            return f"line {line}: {added} line{'s' * (added > 1)} added ({what})"
    if first == len(now) - 1 and len(now) == len(written) and now[first] != written[first]:
        return f"line {line}: the last line differs (cut short or appended to)"
    return f"line {line} differs from what the workflow wrote"
