"""Our checkpoint format, and strict loading of Cohen / SmoothAdv / MACER checkpoints.

Ours: ``{"arch", "num_classes", "input_layer", "state_dict" (of the Sequential, keys "1.xxx"),
"epoch", "optimizer", "scheduler", "rng", "levels", "meta"}``.

Every ``torch.load`` here uses ``weights_only=True``: the published files (and ours) hold only
tensors, (ordered) dicts, lists, tuples, ints, floats and strings, which the restricted unpickler
accepts, while a full unpickle would run arbitrary code from a downloaded file. No fallback to
``weights_only=False`` exists: a file that needs it is not one of these formats, and the error says
so. Consequently ``rng``/``levels``/``meta`` must hold tensors or plain Python values, not numpy
arrays (``save_checkpoint`` converts a numpy ``levels`` array to a tensor).
"""

from __future__ import annotations

import logging
import os
import pickle
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from insta_rs.data import fetch, sums
from insta_rs.files import atomic_torch_save
from insta_rs.models.architectures import build_model

logger = logging.getLogger(__name__)

OPTIONAL_KEYS = ("epoch", "optimizer", "scheduler", "rng", "levels", "meta")

# layout -> (key of the state dict in the file, prefix of every network key)
LAYOUTS = {
    "cohen": ("state_dict", "1."),                 # Sequential(normalize, resnet)
    "cohen_imagenet": ("state_dict", "1.module."),  # Sequential(normalize, DataParallel(resnet50))
    "smoothadv": ("state_dict", "1."),
    "smoothadv_imagenet": ("state_dict", "1.module."),
    "macer": ("net", ""),                            # bare network, raw [0, 1] inputs
}

_MAX_LISTED_KEYS = 20


def _torch_load(path: str | os.PathLike, map_location: str | torch.device) -> object:
    """``torch.load`` with ``weights_only=True`` (see module docstring) and clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" not in str(error):  # not a pickle of tensors at all ("Unsupported operand", ...)
            raise ValueError(f"{path} is truncated or not a torch checkpoint (UnpicklingError)") from error
        raise ValueError(f"{path} holds objects other than tensors and plain containers, so it is not a "
                         f"Cohen/SmoothAdv/MACER/insta-rs checkpoint (refusing a full unpickle: it could run "
                         f"code)") from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:  # torch: "PytorchStreamReader failed ..."
        raise ValueError(f"{path} is truncated or not a torch checkpoint ({type(error).__name__})") from error


def save_checkpoint(path: str | os.PathLike, model: nn.Module, arch: str, num_classes: int,
                    input_layer: dict, **extra: object) -> None:
    """Write our checkpoint atomically; ``extra`` may set any of :data:`OPTIONAL_KEYS`."""
    unknown = sorted(set(extra) - set(OPTIONAL_KEYS))
    if unknown:
        raise ValueError(f"save_checkpoint: unknown keys {unknown}; allowed extras are {list(OPTIONAL_KEYS)} "
                         f"(put anything else into meta)")
    record = {key: None for key in OPTIONAL_KEYS}
    record.update(extra)
    if isinstance(record["levels"], np.ndarray):
        record["levels"] = torch.from_numpy(record["levels"].astype(np.int64))
    record.update(arch=arch, num_classes=int(num_classes), input_layer=dict(input_layer),
                  state_dict=model.state_dict())
    atomic_torch_save(record, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Our checkpoint as a dict (tensors on ``map_location``)."""
    record = _torch_load(path, map_location)
    missing = [key for key in ("arch", "num_classes", "input_layer", "state_dict")
               if not isinstance(record, dict) or key not in record]
    if missing:
        raise ValueError(f"{path} is not an insta-rs checkpoint (missing {missing}); import published "
                         f"checkpoints with the import_pretrained rule first")
    return record


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """The model stored in our checkpoint at ``path``, on ``device``, in eval mode; ``model.num_classes`` holds
    the number of its outputs."""
    try:
        record = load_checkpoint(path, map_location=device)
    except ValueError as error:
        raise ValueError(f"{error}: delete {path} and re-run the rule that makes it (training or "
                         "import_pretrained)") from error
    model = build_model(record["arch"], record["num_classes"], record["input_layer"])
    _load_strictly(model, record["state_dict"], str(path))
    model.num_classes = int(record["num_classes"])
    return model.to(device).eval()


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED_KEYS])
    return shown + (f", ... ({len(keys) - _MAX_LISTED_KEYS} more)" if len(keys) > _MAX_LISTED_KEYS else "")


def _load_strictly(module: nn.Module, state_dict: dict, source: str) -> None:
    """``load_state_dict(strict=True)`` with a ValueError that lists missing and unexpected keys.

    The one tolerated difference is a missing BatchNorm ``num_batches_tracked`` counter (files
    written before PyTorch 0.4.1 lack it); it is unused in eval mode and keeps its fresh value.
    """
    expected = module.state_dict()
    missing = [key for key in expected if key not in state_dict and not key.endswith("num_batches_tracked")]
    unexpected = [key for key in state_dict if key not in expected]
    if missing or unexpected:
        raise ValueError(f"{source} does not fit the architecture: missing keys [{_listed(missing)}]; "
                         f"unexpected keys [{_listed(unexpected)}] (check arch, num_classes and the layout)")
    state_dict = {**{k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}, **state_dict}
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:  # shape mismatch, e.g. a different num_classes
        raise ValueError(f"{source} does not fit the architecture: {error}") from error


def load_foreign_state_dict(path: str | os.PathLike, layout: str,
                            expected_arch: str | None = None) -> dict[str, torch.Tensor]:
    """State dict of the bare network from a published checkpoint, prefix removed.

    Every key must carry the layout's prefix; a key without it is reported as unexpected when
    loading (it is kept unchanged here). With ``expected_arch``, the file's own ``arch`` field
    (Cohen / SmoothAdv files have one) must agree.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout = {layout!r} is unknown; use one of {sorted(LAYOUTS)}")
    container_key, prefix = LAYOUTS[layout]
    record = _torch_load(path, "cpu")
    if not isinstance(record, dict) or container_key not in record:
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"{path}: layout {layout!r} expects a dict with key {container_key!r}, found {found}")
    stored_arch = record.get("arch")
    if expected_arch is not None and stored_arch is not None and stored_arch != expected_arch:
        raise ValueError(f"{path} was saved with arch {stored_arch!r} but arch = {expected_arch!r} is configured")
    return {(key[len(prefix):] if key.startswith(prefix) else key): value
            for key, value in record[container_key].items()}


def load_foreign_model(path: str | os.PathLike, layout: str, arch: str, num_classes: int,
                       input_layer: dict) -> nn.Sequential:
    """``build_model(arch, num_classes, input_layer)`` with the published weights loaded strictly."""
    model = build_model(arch, num_classes, input_layer)
    _load_strictly(model[1], load_foreign_state_dict(path, layout, arch), f"{path} (layout {layout})")
    return model.eval()


def import_pretrained(foreign_path: str | os.PathLike, layout: str, arch: str, num_classes: int,
                      input_layer: dict, out_path: str | os.PathLike, meta: dict | None = None) -> nn.Module:
    """Convert a published checkpoint to ours at ``out_path``; returns the loaded model.

    ``meta`` (e.g. source archive and member) is stored with the provenance of the file.
    """
    model = load_foreign_model(foreign_path, layout, arch, num_classes, input_layer)
    provenance = {"imported_from": str(foreign_path), "layout": layout, "sha256": sums.sha256_of(foreign_path),
                  **(meta or {})}
    save_checkpoint(out_path, model, arch, num_classes, input_layer, meta=provenance)
    logger.info("imported %s (layout %s, arch %s) -> %s", foreign_path, layout, arch, out_path)
    return model


def _same_input_layer(configured: dict, published: dict) -> bool:
    if configured.get("kind") != published.get("kind"):
        return False
    return all(np.allclose(configured.get(key, []), published.get(key, []), atol=1e-6) for key in ("mean", "std"))


def import_configured_model(foreign: str | os.PathLike, model_name: str, entry: dict, num_classes: int,
                            out_path: str | os.PathLike) -> nn.Module:
    """Import the published model that config entry ``models.<model_name>`` names.

    ``foreign`` is the downloaded archive or ``pretrained.path`` (archive, extracted folder or the
    checkpoint itself). The layout, architecture and input layer come from the catalog rule of
    ``pretrained.member`` (``insta_rs/models/pretrained.yaml``); a configured ``arch`` or ``input_layer`` that
    differs is an error, since the wrong input layer silently gives wrong predictions.
    """
    pretrained = entry["pretrained"]
    key = f"models.{model_name}"
    source, member = pretrained["source"], pretrained.get("member")
    if not member:
        raise ValueError(f"{key}.pretrained.member is missing: name the checkpoint file inside the archive")
    published = fetch.member_info(source, member)
    if entry["arch"] != published["arch"]:
        raise ValueError(f"{key}.arch = {entry['arch']!r} but {source} member {member} is a {published['arch']!r}")
    if not _same_input_layer(entry["input_layer"], published["input_layer"]):
        raise ValueError(f"{key}.input_layer = {entry['input_layer']} but {source} member {member} was trained with "
                         f"{published['input_layer']} (insta_rs/models/pretrained.yaml); set {key}.input_layer to that")
    if pretrained.get("path"):
        if pretrained.get("sha256"):
            sums.verify_sha256(foreign, pretrained["sha256"])
    else:  # the downloaded archive: checked at every import as at every download
        sums.check_archive(foreign, fetch.archive_info(source).get("sha256") or pretrained.get("sha256"))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    remedy = (f"fix {key}.pretrained.path" if pretrained.get("path") else
              f"delete {foreign} and run the workflow again to fetch it anew")
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".extract.") as work_dir:
        try:
            checkpoint = fetch.resolve_checkpoint(foreign, member, work_dir)
            return import_pretrained(checkpoint, published["layout"], entry["arch"], num_classes,
                                     entry["input_layer"], out_path,
                                     meta={"imported_from": f"{foreign} :: {member}", "model": model_name,
                                           "source": source, "member": member})
        except (ValueError, OSError, EOFError, tarfile.TarError, zipfile.BadZipFile) as error:
            raise ValueError(f"{key}: {error}; {remedy}") from error
