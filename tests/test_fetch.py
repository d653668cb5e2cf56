"""Tests for insta_rs.data.fetch: loopback/local downloads, sha256, member extraction, catalog rules."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from collections import OrderedDict

import pytest
import torch

from insta_rs.data import fetch, sums
from insta_rs.models import checkpoints
from insta_rs.models.architectures import build_network

torch.set_num_threads(1)

COHEN_MEMBER = "models/cifar10/resnet110/noise_0.50/checkpoint.pth.tar"
SMOOTHADV_MEMBER = ("pretrained_models/cifar10/PGD_10steps_multiNoiseSamples/2-multitrain/eps_512/cifar10/resnet110/"
                    "noise_1.00/checkpoint.pth.tar")
OTHER_MEMBER = "models/cifar10/resnet110/noise_0.25/checkpoint.pth.tar"


@functools.lru_cache(maxsize=None)
def cohen_checkpoint_bytes(seed):
    """A Cohen-layout checkpoint (ResNet-20 weights, keys "1.") in the legacy serialization (cached: the
    legacy format is not byte-identical between two saves)."""
    torch.manual_seed(seed)
    state = OrderedDict(("1." + k, v) for k, v in build_network("cifar_resnet20", 10).state_dict().items())
    buffer = io.BytesIO()
    torch.save({"epoch": 90, "arch": "cifar_resnet20", "state_dict": state}, buffer,
               _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def write_tar(path, files, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, payload in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory):
    """models.tar.gz with the published Cohen layout, a SmoothAdv-layout tar and a zip."""
    root = tmp_path_factory.mktemp("served")
    files = {COHEN_MEMBER: cohen_checkpoint_bytes(0), OTHER_MEMBER: cohen_checkpoint_bytes(1),
             "models/README.txt": b"readme"}
    write_tar(root / "models.tar.gz", {f"./{name}": data for name, data in files.items()})
    write_tar(root / "smoothadv.tar", {SMOOTHADV_MEMBER: cohen_checkpoint_bytes(2)}, mode="w")
    with zipfile.ZipFile(root / "macer.zip", "w") as zipped:
        zipped.writestr("cifar10/440.pth", b"not really a checkpoint")
    return root


def serving(handler):
    """An http.server on 127.0.0.1 (free port) with ``handler``, from a thread: yields its URL, then stops it."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture()
def server(archive_dir):
    """Serves ``archive_dir``."""
    yield from serving(functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive_dir)))


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class LyingHandler(http.server.BaseHTTPRequestHandler):
    """``/short``: announces 100,000 bytes and closes after 3,000; ``/long``: announces 3,000 and sends 5,000."""

    def do_GET(self):
        announced, sent = {"/short": (100_000, 3_000), "/long": (3_000, 5_000)}[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(b"x" * sent)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture()
def lying_server():
    yield from serving(LyingHandler)


@pytest.mark.parametrize("path, sent", [("short", 3_000), ("long", 5_000)], ids=["truncated", "too-long"])
def test_a_body_shorter_or_longer_than_announced_is_an_error_and_leaves_no_file(lying_server, tmp_path, path, sent):
    dest = tmp_path / "cohen" / "archive"
    with pytest.raises(fetch.DownloadError, match=rf"announced {100_000 if path == 'short' else 3_000} bytes and "
                                                  rf"sent {sent}; nothing was kept"):
        fetch.download(f"{lying_server}/{path}", dest)
    assert list((tmp_path / "cohen").iterdir()) == []  # not even a temporary file


@pytest.fixture()
def catalog_on(monkeypatch):
    """Point the cohen catalog entry at a URL (no Drive id), like a published archive."""
    def point(url):
        catalog = fetch.load_catalog()
        catalog["cohen"] = {**catalog["cohen"], "gdrive_id": None, "url": url}
        monkeypatch.setattr(fetch, "load_catalog", lambda: catalog)
    return point


def test_first_download_records_the_sum_and_later_ones_are_checked(server, archive_dir, tmp_path, catalog_on):
    """Trust on first use: the first download records its sha256 in SHA256SUMS beside the archive folders; a later
    download of changed bytes is refused and leaves no file; an import checks the archive the same way."""
    served = archive_dir / "changing.tar"
    served.write_bytes((archive_dir / "smoothadv.tar").read_bytes())
    catalog_on(f"{server}/changing.tar")
    archive = tmp_path / "pretrained" / "cohen" / "archive"
    fetch.fetch_archive("cohen", archive, ["cohen-0.50"])
    recorded = tmp_path / "pretrained" / "SHA256SUMS"
    assert recorded.read_text() == f"{sha256(served)}  cohen/archive\n"
    assert sums.check_archive(archive) == sha256(served)  # an import of the same bytes passes

    archive.unlink()
    served.write_bytes((archive_dir / "macer.zip").read_bytes())  # the source changed
    with pytest.raises(ValueError, match=rf"sha256 mismatch for {archive}: {sha256(served)}, but its first download "
                                         rf"recorded {recorded.read_text().split()[0]} in {recorded}.*delete its line"):
        fetch.fetch_archive("cohen", archive, ["cohen-0.50"])
    assert not archive.exists() and len(recorded.read_text().splitlines()) == 1

    served.write_bytes((archive_dir / "smoothadv.tar").read_bytes())
    fetch.fetch_archive("cohen", archive, ["cohen-0.50"])
    archive.write_bytes(archive.read_bytes()[:-1] + b"!")  # damaged on disk after the download
    with pytest.raises(ValueError, match="sha256 mismatch.*first download recorded"):
        sums.check_archive(archive)


def test_a_configured_sum_is_checked_instead_of_recording_one(server, archive_dir, tmp_path, catalog_on):
    catalog_on(f"{server}/smoothadv.tar")
    archive = tmp_path / "pretrained" / "cohen" / "archive"
    with pytest.raises(ValueError, match=f"sha256 mismatch for {archive}: expected 0{{64}}"):
        fetch.fetch_archive("cohen", archive, ["cohen-0.50"], expected="0" * 64)
    assert not archive.exists() and not (tmp_path / "pretrained" / "SHA256SUMS").exists()
    fetch.fetch_archive("cohen", archive, ["cohen-0.50"], expected=sha256(archive_dir / "smoothadv.tar"))
    assert not (tmp_path / "pretrained" / "SHA256SUMS").exists()  # a known sum needs no record


def test_download_from_loopback_server_with_checksum(server, archive_dir, tmp_path):
    expected = sha256(archive_dir / "models.tar.gz")
    dest = fetch.download(f"{server}/models.tar.gz", tmp_path / "cohen" / "archive", sha256=expected)
    assert sha256(dest) == expected
    assert [p.name for p in (tmp_path / "cohen").iterdir()] == ["archive"]  # no temporary left behind


def test_download_from_local_path(archive_dir, tmp_path):
    dest = fetch.download(str(archive_dir / "smoothadv.tar"), tmp_path / "archive")
    assert dest.read_bytes() == (archive_dir / "smoothadv.tar").read_bytes()


def test_checksum_mismatch_names_file_expected_and_got(server, archive_dir, tmp_path):
    dest = tmp_path / "archive"
    with pytest.raises(ValueError, match=rf"sha256 mismatch for {dest}: expected 0{{64}}, got "
                                         rf"{sha256(archive_dir / 'models.tar.gz')}"):
        fetch.download(f"{server}/models.tar.gz", dest, sha256="0" * 64)
    assert not dest.exists()


def test_unreachable_url_names_url_and_config_key(server, tmp_path):
    with pytest.raises(fetch.DownloadError, match=rf"{server}/absent.tar.*models.cohen-0.50.pretrained.path"):
        fetch.download(f"{server}/absent.tar", tmp_path / "a", config_key="models.cohen-0.50.pretrained.path")
    with pytest.raises(FileNotFoundError, match="models.<name>.pretrained.path"):
        fetch.download(str(tmp_path / "nothing.tar"), tmp_path / "b")


def test_gdrive_uses_gdown_with_id(monkeypatch, tmp_path):
    calls = []

    def fake_download(id, output, quiet):
        calls.append((id, quiet))
        with open(output, "wb") as handle:
            handle.write(b"payload")
        return output

    import gdown
    monkeypatch.setattr(gdown, "download", fake_download)
    dest = fetch.download("gdrive:FILEID", tmp_path / "archive", sha256=hashlib.sha256(b"payload").hexdigest())
    assert calls == [("FILEID", False)] and dest.read_bytes() == b"payload"

    def offline(**kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(gdown, "download", offline)
    with pytest.raises(fetch.DownloadError, match="FILEID.*models.<name>.pretrained.path"):
        fetch.download("gdrive:FILEID", tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_extract_only_requested_members(archive_dir, tmp_path):
    [path] = fetch.extract_members(archive_dir / "models.tar.gz", [COHEN_MEMBER], tmp_path)
    assert path == tmp_path / COHEN_MEMBER
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [COHEN_MEMBER]
    assert path.read_bytes() == cohen_checkpoint_bytes(0)
    model = checkpoints.load_foreign_model(path, "cohen", "cifar_resnet20", 10, {"kind": "none"})
    torch.manual_seed(0)
    assert torch.equal(model[1].fc.weight, build_network("cifar_resnet20", 10).fc.weight)


def test_extract_smoothadv_layout_and_zip(archive_dir, tmp_path):
    [path] = fetch.extract_members(archive_dir / "smoothadv.tar", [SMOOTHADV_MEMBER], tmp_path / "s")
    assert path.is_file() and path.read_bytes() == cohen_checkpoint_bytes(2)
    [path] = fetch.extract_members(archive_dir / "macer.zip", ["cifar10/440.pth"], tmp_path / "m")
    assert path.read_bytes() == b"not really a checkpoint"


def test_missing_member_lists_available_checkpoints(archive_dir, tmp_path):
    with pytest.raises(ValueError, match=r"noise_1\.00.*pretrained.member.*noise_0\.50/checkpoint\.pth\.tar"):
        fetch.extract_members(archive_dir / "models.tar.gz", ["models/cifar10/resnet110/noise_1.00/x"], tmp_path)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="outside"):
        fetch.extract_members(archive_dir / "models.tar.gz", ["../etc/passwd"], tmp_path)


def test_resolve_checkpoint_accepts_archive_folder_or_file(archive_dir, tmp_path):
    from_archive = fetch.resolve_checkpoint(archive_dir / "models.tar.gz", COHEN_MEMBER, tmp_path / "work")
    assert from_archive == tmp_path / "work" / COHEN_MEMBER
    assert fetch.resolve_checkpoint(tmp_path / "work", COHEN_MEMBER, tmp_path / "unused") == from_archive
    assert fetch.resolve_checkpoint(from_archive, COHEN_MEMBER, tmp_path / "unused") == from_archive
    torch.save({"net": {}}, tmp_path / "zipformat.pth")  # a zip-format torch file is not an archive
    assert fetch.resolve_checkpoint(tmp_path / "zipformat.pth", "x", tmp_path / "unused") == tmp_path / "zipformat.pth"
    with pytest.raises(FileNotFoundError, match="pretrained.path"):
        fetch.resolve_checkpoint(tmp_path / "absent", COHEN_MEMBER, tmp_path / "unused")


def test_catalog_member_rules():
    assert fetch.archive_source_url("cohen") == "gdrive:1h_TpbXm5haY5f-l4--IKylmdz6tvPoR4"
    cohen = fetch.member_info("cohen", COHEN_MEMBER)
    assert cohen["layout"] == "cohen" and cohen["arch"] == "cifar_resnet110"
    assert cohen["input_layer"]["kind"] == "meanstd" and cohen["input_layer"]["std"][0] == 0.2023
    assert fetch.member_info("cohen", "models/imagenet/resnet50/noise_0.25/checkpoint.pth.tar")["layout"] == \
        "cohen_imagenet"
    assert fetch.member_info("smoothadv", SMOOTHADV_MEMBER)["input_layer"]["kind"] == "mean"
    finetuned = "pretrained_models/cifar10/finetune_cifar_from_imagenetPGD2steps/PGD_2steps/eps_255/cifar10/" \
                "resnet110/noise_0.25/checkpoint.pth.tar"
    assert fetch.member_info("smoothadv", finetuned)["input_layer"]["kind"] == "meanstd"
    assert fetch.member_info("macer", "cifar10/440.pth")["input_layer"] == {"kind": "none"}
    assert all(info["sha256"] is None for info in fetch.load_catalog().values())
    with pytest.raises(ValueError, match="pretrained.source"):
        fetch.archive_info("nope")
    with pytest.raises(ValueError, match="download it by hand|browser"):
        fetch.archive_source_url("macer")
