"""Download published model archives (URL, Google Drive via gdown, or local file), check them, and extract only
the checkpoint files a configured model needs.

The catalog of archives is package data (``pretrained.yaml``): Drive ids / URLs, file names, sha256 (null: the
published sums are unknown), and per-member layout, architecture and input layer. A download shorter or longer
than the size the server announced is an error and leaves no file. An archive is checked against the sha256 the
catalog or the config gives, else against the one its first download recorded in :data:`RECORDED_SUMS` beside
the archives (trust on first use), at every later download and every import.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import posixpath
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path
from typing import IO, Iterator

import yaml

from insta_rs.data.sums import check_archive, verify_sha256
from insta_rs.files import atomic_write

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
CONNECT_TIMEOUT_S = 30
PATH_KEY = "models.<name>.pretrained.path"


class DownloadError(OSError):
    """A download failed (offline, host unreachable, HTTP error)."""


def load_catalog() -> dict:
    """The archives in ``insta_rs/models/pretrained.yaml``."""
    return yaml.safe_load(resources.files("insta_rs.models").joinpath("pretrained.yaml").read_text())["archives"]


def archive_info(source: str) -> dict:
    """Catalog entry of archive ``source`` (cohen, smoothadv, macer)."""
    catalog = load_catalog()
    if source not in catalog:
        raise ValueError(f"models.<name>.pretrained.source = {source!r} is unknown; use one of {sorted(catalog)}")
    return catalog[source]


def member_info(source: str, member: str) -> dict:
    """``{"layout", "arch", "input_layer"}`` of the first catalog rule whose pattern matches ``member``."""
    for rule in archive_info(source)["members"]:
        if fnmatch.fnmatch(member, rule["pattern"]):
            return {"layout": rule["layout"], "arch": rule["arch"], "input_layer": rule["input_layer"]}
    raise ValueError(f"models.<name>.pretrained.member = {member!r} matches no member rule of archive "
                     f"{source!r} in insta_rs/models/pretrained.yaml")


def _stream(response: IO[bytes], out: IO[bytes], total: int | None, url: str) -> int:
    """Copy ``response`` to ``out`` logging bytes, rate and ETA at most every 10 s; the bytes copied."""
    done, start, last = 0, time.monotonic(), time.monotonic()
    while chunk := response.read(CHUNK_BYTES):
        out.write(chunk)
        done += len(chunk)
        now = time.monotonic()
        if now - last >= 10:
            last = now
            rate = done / (now - start)
            eta = f", ETA {(total - done) / rate:.0f}s" if total else ""
            logger.info("%s: %.1f of %s MB (%.1f MB/s%s)", url, done / 1e6,
                        f"{total / 1e6:.1f}" if total else "?", rate / 1e6, eta)
    return done


def _download_url(url: str, dest: Path, config_key: str) -> None:
    """Fetch ``url`` to ``dest`` atomically; DownloadError (and no file) when the body is shorter or longer than
    the Content-Length the server announced."""
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as response, atomic_write(dest, "wb") as out:
            length = response.headers.get("Content-Length")
            announced = int(length) if length else None
            # read to the end of the connection (urllib asks the server to close it), not only the announced bytes,
            # so that a body longer than announced is seen
            response.length = None
            received = _stream(response, out, announced, url)
            if announced is not None and received != announced:
                raise DownloadError(f"{url}: the server announced {announced} bytes and sent {received}; nothing was "
                                    "kept (run the workflow again to retry the download)")
    except DownloadError:
        raise
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"could not download {url} ({error}); if this machine is offline, download the file "
                            f"elsewhere and set {config_key} to the local copy") from error


def _download_gdrive(file_id: str, dest: Path, config_key: str) -> None:
    import gdown

    partial = dest.with_name(dest.name + ".partial")
    try:
        written = gdown.download(id=file_id, output=str(partial), quiet=False)
    except Exception as error:  # gdown raises requests' and its own exception types
        written, reason = None, error
    else:
        reason = "gdown returned no file"
    if written is None or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise DownloadError(f"could not download Google Drive file {file_id} ({reason}); if this machine is "
                            f"offline, download https://drive.google.com/file/d/{file_id} elsewhere and set "
                            f"{config_key} to the local copy")
    os.replace(partial, dest)


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, config_key: str = PATH_KEY) -> Path:
    """Fetch ``url`` to ``dest`` (atomically) and verify its sha256 when given.

    ``url``: ``http(s)://...``, ``file://...``, ``gdrive:<file id>`` (gdown, which handles Drive's
    confirmation page for large files) or a local path. On failure the error names the URL and
    ``config_key``, the config entry that points at a local copy instead.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("gdrive:"):
        _download_gdrive(url.removeprefix("gdrive:"), dest, config_key)
    else:
        if "://" not in url:
            if not Path(url).is_file():
                raise FileNotFoundError(f"{url} does not exist; set {config_key} to an existing file")
            url = Path(url).resolve().as_uri()
        _download_url(url, dest, config_key)
    if sha256:
        try:
            verify_sha256(dest, sha256)
        except ValueError:
            dest.unlink()
            raise
    return dest


def archive_source_url(source: str) -> str:
    """The download address of a catalog archive: ``gdrive:<id>`` or its URL."""
    info = archive_info(source)
    if info.get("gdrive_id"):
        return f"gdrive:{info['gdrive_id']}"
    if info.get("url"):
        return info["url"]
    raise ValueError(f"archive {source!r} cannot be downloaded automatically: {info.get('manual', 'no URL known')}; "
                     f"then set {PATH_KEY} to the downloaded file")


def _safe_relative(name: str) -> str:
    """Archive member name normalized (``./`` removed); ValueError for absolute or ``..`` paths."""
    normalized = posixpath.normpath(name.removeprefix("./"))
    if normalized.startswith(("/", "../")) or normalized == "..":
        raise ValueError(f"archive member {name!r} points outside the extraction directory")
    return normalized


def _archive_entries(archive: Path) -> Iterator[tuple[str, IO[bytes] | None]]:
    """(normalized name, open file or None for non-files) of every entry, streaming."""
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r|*") as tar:
            for info in tar:
                yield posixpath.normpath(info.name.removeprefix("./")), tar.extractfile(info) if info.isfile() else None
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                name = posixpath.normpath(info.filename.removeprefix("./"))
                if info.is_dir():
                    yield name, None
                else:
                    with zipped.open(info) as handle:
                        yield name, handle
    else:
        raise ValueError(f"{archive} is neither a tar (.tar, .tar.gz) nor a zip archive")


def is_archive(path: str | os.PathLike) -> bool:
    """True for a tar or zip archive that is not itself a (zip-format) torch checkpoint."""
    path = Path(path)
    if tarfile.is_tarfile(path):
        return True
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zipped:
            return not any(name.endswith("/data.pkl") for name in zipped.namelist())
    return False


def extract_members(archive: str | os.PathLike, members: list[str], dest_dir: str | os.PathLike) -> list[Path]:
    """Extract only ``members`` of a .tar/.tar.gz/.zip ``archive`` to ``dest_dir/<member>``.

    One streaming pass; each file is written atomically. Returns the paths in ``members`` order.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    wanted = {_safe_relative(member): member for member in members}
    extracted: dict[str, Path] = {}
    checkpoints_seen: list[str] = []
    for name, handle in _archive_entries(archive):
        if name.endswith((".pth.tar", ".pth", ".pt")):
            checkpoints_seen.append(name)
        if handle is None or name not in wanted or name in extracted:
            continue
        target = dest_dir / name
        with atomic_write(target, "wb") as out:
            shutil.copyfileobj(handle, out, CHUNK_BYTES)
        extracted[name] = target
        logger.info("extracted %s from %s", name, archive)
    missing = [member for name, member in wanted.items() if name not in extracted]
    if missing:
        raise ValueError(f"{archive} has no member {missing}; set models.<name>.pretrained.member to one of: "
                         f"{', '.join(checkpoints_seen[:30]) or '(no checkpoint files found)'}")
    return [extracted[_safe_relative(member)] for member in members]


def resolve_checkpoint(path: str | os.PathLike, member: str, work_dir: str | os.PathLike) -> Path:
    """The checkpoint file for ``member`` given a local archive, extracted folder, or the file itself."""
    path = Path(path)
    if path.is_dir():
        candidate = path / member
        if not candidate.is_file():
            raise FileNotFoundError(f"{candidate} does not exist: {PATH_KEY} = {path} is a folder, so it must "
                                    f"contain models.<name>.pretrained.member = {member}")
        return candidate
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; set {PATH_KEY} to a local archive, folder or checkpoint")
    if is_archive(path):
        return extract_members(path, [member], work_dir)[0]
    return path


def manual_download_problems(model: str, pretrained: dict) -> list[str]:
    """What ``models.<model>.pretrained`` lacks on disk before any job runs: a local ``path`` that does not exist,
    or an archive that cannot be downloaded by a program (MACER's OneDrive page) and has no local ``path``."""
    key = f"models.{model}.pretrained.path"
    path, info = pretrained.get("path"), archive_info(pretrained["source"])
    if path and not Path(path).exists():
        where = info.get("manual") or f"the {pretrained['source']} archive ({info.get('description', '')})"
        return [f"{key} = {path} does not exist: {where}, and put it there (or point {key} at your copy)"]
    if not path and not (info.get("gdrive_id") or info.get("url")):
        return [f"{key} is not set and the {pretrained['source']} archive cannot be downloaded by a program: "
                f"{info.get('manual', 'download it by hand')}, then set {key} to the file"]
    return []


def fetch_archive(source: str, dest: str | os.PathLike, model_names: list[str], expected: str | None = None) -> Path:
    """Download catalog archive ``source`` to ``dest`` and check it (:func:`check_archive`: the catalog's sha256, or
    ``expected`` from the config, or the one recorded at its first download); a mismatch leaves no file.

    ``model_names`` (the configured models that need it) name the config keys in error messages.
    """
    config_key = " or ".join(f"models.{name}.pretrained.path" for name in model_names) or PATH_KEY
    try:
        url = archive_source_url(source)
    except ValueError as error:
        raise ValueError(f"{error} ({config_key})") from error
    dest = download(url, dest, None, config_key)
    try:
        check_archive(dest, archive_info(source).get("sha256") or expected)
    except ValueError:
        dest.unlink()
        raise
    return dest
