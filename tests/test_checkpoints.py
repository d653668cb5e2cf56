"""Tests for insta_rs.models.checkpoints: our format round trip and strict loading of the published layouts."""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from insta_rs.models import checkpoints
from insta_rs.models.architectures import build_model, build_network

torch.set_num_threads(1)

CIFAR_MEANSTD = {"kind": "meanstd", "mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.2010]}


def trained_like_network(arch="cifar_resnet20", seed=0):
    """A network with random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    net = build_network(arch, 10)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.num_batches_tracked.fill_(1234)
    return net.eval()


def save_foreign(path, state_dict, layout, arch="cifar_resnet20"):
    """Write a checkpoint the way the published code bases did (legacy, pre-1.6 serialization)."""
    if layout == "macer":
        record = {"net": state_dict, "epoch": 440}
    else:
        prefix = "1.module." if layout.endswith("imagenet") else "1."
        record = {"epoch": 90, "arch": arch, "state_dict": OrderedDict((prefix + k, v) for k, v in state_dict.items()),
                  "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "momentum": 0.9, "params": [0, 1]}]}}
    torch.save(record, path, _use_new_zipfile_serialization=False)


@pytest.mark.parametrize("layout,input_layer", [("cohen", CIFAR_MEANSTD), ("cohen_imagenet", CIFAR_MEANSTD),
                                                ("smoothadv", {"kind": "mean", "mean": [0.5, 0.4, 0.3]}),
                                                ("macer", {"kind": "none"})])
def test_foreign_layouts_give_identical_logits(tmp_path, layout, input_layer):
    net = trained_like_network()
    reference = torch.nn.Sequential(build_model("cifar_resnet20", 10, input_layer)[0], net).eval()
    save_foreign(tmp_path / "checkpoint.pth.tar", net.state_dict(), layout)
    loaded = checkpoints.load_foreign_model(tmp_path / "checkpoint.pth.tar", layout, "cifar_resnet20", 10,
                                            input_layer)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), reference(x))
    assert not loaded.training


def test_import_pretrained_writes_our_format(tmp_path):
    net = trained_like_network()
    save_foreign(tmp_path / "checkpoint.pth.tar", net.state_dict(), "cohen")
    out = tmp_path / "models" / "cohen" / "checkpoint.pt"
    checkpoints.import_pretrained(tmp_path / "checkpoint.pth.tar", "cohen", "cifar_resnet20", 10, CIFAR_MEANSTD, out,
                                  meta={"source": "cohen"})
    record = checkpoints.load_checkpoint(out)
    assert record["arch"] == "cifar_resnet20" and record["input_layer"] == CIFAR_MEANSTD
    assert record["meta"]["layout"] == "cohen" and record["meta"]["source"] == "cohen"
    assert len(record["meta"]["sha256"]) == 64
    model = checkpoints.load_model(out, "cpu")
    reference = torch.nn.Sequential(build_model("cifar_resnet20", 10, CIFAR_MEANSTD)[0], net).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    state = trained_like_network().state_dict()
    del state["layer2.0.downsample.0.weight"]
    state["layer4.0.conv1.weight"] = torch.zeros(1)
    save_foreign(tmp_path / "broken.pth.tar", state, "cohen")
    with pytest.raises(ValueError, match=r"missing keys \[layer2\.0\.downsample\.0\.weight\].*"
                                         r"unexpected keys \[layer4\.0\.conv1\.weight\]"):
        checkpoints.load_foreign_model(tmp_path / "broken.pth.tar", "cohen", "cifar_resnet20", 10, CIFAR_MEANSTD)


def test_wrong_layout_or_arch_is_an_error(tmp_path):
    save_foreign(tmp_path / "imagenet.pth.tar", trained_like_network().state_dict(), "cohen_imagenet")
    with pytest.raises(ValueError, match="unexpected keys.*module.conv1.weight"):
        checkpoints.load_foreign_model(tmp_path / "imagenet.pth.tar", "cohen", "cifar_resnet20", 10, CIFAR_MEANSTD)
    with pytest.raises(ValueError, match="'net'"):
        checkpoints.load_foreign_state_dict(tmp_path / "imagenet.pth.tar", "macer")
    with pytest.raises(ValueError, match="arch"):
        checkpoints.load_foreign_model(tmp_path / "imagenet.pth.tar", "cohen_imagenet", "cifar_resnet110", 10,
                                       CIFAR_MEANSTD)
    with pytest.raises(ValueError, match="num_classes|size mismatch"):
        checkpoints.load_foreign_model(tmp_path / "imagenet.pth.tar", "cohen_imagenet", "cifar_resnet20", 100,
                                       CIFAR_MEANSTD)


def test_resnet110_published_key_names_load(tmp_path):
    state = build_network("cifar_resnet110", 10).state_dict()
    save_foreign(tmp_path / "r110.pth.tar", state, "cohen", arch="cifar_resnet110")
    foreign = checkpoints.load_foreign_state_dict(tmp_path / "r110.pth.tar", "cohen")
    assert "layer3.17.bn2.running_var" in foreign and "layer2.0.downsample.1.weight" in foreign
    checkpoints.load_foreign_model(tmp_path / "r110.pth.tar", "cohen", "cifar_resnet110", 10, CIFAR_MEANSTD)


def test_missing_num_batches_tracked_is_tolerated(tmp_path):
    state = {k: v for k, v in trained_like_network().state_dict().items() if not k.endswith("num_batches_tracked")}
    save_foreign(tmp_path / "old.pth.tar", state, "macer")
    checkpoints.load_foreign_model(tmp_path / "old.pth.tar", "macer", "cifar_resnet20", 10, {"kind": "none"})


def test_save_and_load_our_checkpoint_round_trip(tmp_path):
    model = build_model("digits_cnn", 10, {"kind": "none"})
    path = tmp_path / "run" / "checkpoint.pt"
    checkpoints.save_checkpoint(path, model, "digits_cnn", 10, {"kind": "none"}, epoch=3,
                                levels=np.array([1, 16, 4]), rng={"torch": torch.get_rng_state()})
    record = checkpoints.load_checkpoint(path)
    assert record["epoch"] == 3 and record["levels"].tolist() == [1, 16, 4] and record["optimizer"] is None
    assert all(k.startswith("1.") for k in record["state_dict"])
    loaded = checkpoints.load_model(path, "cpu")
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))
    with pytest.raises(ValueError, match="unknown keys"):
        checkpoints.save_checkpoint(path, model, "digits_cnn", 10, {"kind": "none"}, epochs=3)


def test_refuses_arbitrary_pickles_and_missing_files(tmp_path):
    torch.save({"state_dict": {}, "args": np.random.RandomState(0)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refusing"):
        checkpoints.load_foreign_state_dict(tmp_path / "evil.pt", "cohen")
    with pytest.raises(FileNotFoundError):
        checkpoints.load_model(tmp_path / "absent.pt", "cpu")
    torch.save({"net": {}}, tmp_path / "macer.pth")
    with pytest.raises(ValueError, match="not an insta-rs checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "macer.pth")


COHEN_MEMBER = "models/cifar10/resnet110/noise_0.50/checkpoint.pth.tar"


@pytest.fixture(scope="module")
def cohen_archive(tmp_path_factory):
    """A models.tar.gz in Cohen's published layout with one ResNet-110 checkpoint."""
    import tarfile

    root = tmp_path_factory.mktemp("cohen")
    torch.manual_seed(1)
    net = build_network("cifar_resnet110", 10).eval()
    (root / COHEN_MEMBER).parent.mkdir(parents=True)
    save_foreign(root / COHEN_MEMBER, net.state_dict(), "cohen", arch="cifar_resnet110")
    with tarfile.open(root / "models.tar.gz", "w:gz") as tar:
        tar.add(root / "models", arcname="models")
    return root, net


def downloaded(archive, tmp_path):
    """``archive`` where the workflow downloads it (``<resources>/pretrained/<source>/archive``)."""
    dest = tmp_path / "pretrained" / "cohen" / "archive"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(Path(archive).read_bytes())
    return dest


def test_import_configured_model_from_archive(cohen_archive, tmp_path):
    root, net = cohen_archive
    entry = {"arch": "cifar_resnet110", "input_layer": CIFAR_MEANSTD,
             "pretrained": {"source": "cohen", "member": COHEN_MEMBER, "path": None}}
    out = tmp_path / "models" / "cohen-0.50" / "checkpoint.pt"
    archive = downloaded(root / "models.tar.gz", tmp_path)
    checkpoints.import_configured_model(archive, "cohen-0.50", entry, 10, out)
    assert (tmp_path / "pretrained" / "SHA256SUMS").read_text().endswith("  cohen/archive\n")  # checked from now on
    assert sorted(p.name for p in out.parent.iterdir()) == ["checkpoint.pt"]  # extraction cleaned up
    record = checkpoints.load_checkpoint(out)
    assert record["meta"]["member"] == COHEN_MEMBER and record["meta"]["model"] == "cohen-0.50"
    x = torch.rand(2, 3, 32, 32)
    reference = torch.nn.Sequential(build_model("cifar_resnet110", 10, CIFAR_MEANSTD)[0], net).eval()
    with torch.no_grad():
        assert torch.equal(checkpoints.load_model(out, "cpu")(x), reference(x))


def test_import_configured_model_rejects_wrong_settings(cohen_archive, tmp_path):
    root, _ = cohen_archive
    entry = {"arch": "cifar_resnet110", "input_layer": {"kind": "mean", "mean": CIFAR_MEANSTD["mean"]},
             "pretrained": {"source": "cohen", "member": COHEN_MEMBER}}
    out = tmp_path / "checkpoint.pt"
    archive = downloaded(root / "models.tar.gz", tmp_path)
    with pytest.raises(ValueError, match=r"models\.m\.input_layer.*meanstd"):
        checkpoints.import_configured_model(archive, "m", entry, 10, out)
    with pytest.raises(ValueError, match=r"models\.m\.arch"):
        checkpoints.import_configured_model(archive, "m", {**entry, "arch": "cifar_resnet20"}, 10, out)
    configured = {**entry, "input_layer": CIFAR_MEANSTD, "pretrained": {**entry["pretrained"], "sha256": "0" * 64}}
    with pytest.raises(ValueError, match="sha256 mismatch"):
        checkpoints.import_configured_model(archive, "m", configured, 10, out)
    checkpoints.import_configured_model(archive, "m", {**entry, "input_layer": CIFAR_MEANSTD}, 10, out)  # recorded
    archive.write_bytes(archive.read_bytes() + b"\0")  # the archive changed after its first use
    with pytest.raises(ValueError, match="sha256 mismatch.*first download recorded"):
        checkpoints.import_configured_model(archive, "m", {**entry, "input_layer": CIFAR_MEANSTD}, 10, out)


def test_truncated_or_foreign_files_name_the_model_the_file_and_the_remedy(cohen_archive, tmp_path):
    """A truncated download and a file that is no checkpoint at all: one message with the config key, the file and
    what to do (re-fetch the archive, or fix pretrained.path), not torch's internals."""
    root, _ = cohen_archive
    checkpoint = root / COHEN_MEMBER
    truncated = tmp_path / "truncated.pth.tar"
    truncated.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    foreign = tmp_path / "random.pth"
    foreign.write_bytes(np.random.default_rng(0).bytes(4096))
    entry = {"arch": "cifar_resnet110", "input_layer": CIFAR_MEANSTD,
             "pretrained": {"source": "cohen", "member": COHEN_MEMBER}}
    out = tmp_path / "checkpoint.pt"
    for path in (downloaded(truncated, tmp_path / "t"), downloaded(foreign, tmp_path / "f")):
        with pytest.raises(ValueError) as error:
            checkpoints.import_configured_model(path, "cohen-0.50", entry, 10, out)
        message = str(error.value)
        assert message.startswith(f"models.cohen-0.50: {path} is truncated or not a torch checkpoint")
        assert f"delete {path}" in message and "PytorchStreamReader" not in message and "weights_only" not in message
    local = {**entry, "pretrained": {**entry["pretrained"], "path": str(truncated)}}
    with pytest.raises(ValueError, match=r"fix models\.cohen-0\.50\.pretrained\.path"):
        checkpoints.import_configured_model(truncated, "cohen-0.50", local, 10, out)
    with pytest.raises(ValueError, match=f"delete {foreign} and re-run the rule"):
        checkpoints.load_model(foreign)
