"""One function per workflow step of training: a fixed-sigma baseline, stage I (Insta-RS or PFAT), PFAT's
grid assignment, stage II fine-tuning with fixed levels, and exporting a stage-I model as a final model.

``job.where`` names the config entry in error messages; ``identity`` of a run (what a partial checkpoint must
match to be resumed) is built from the settings each function receives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from insta_rs.data.datasets import IndexedDataset, load_split
from insta_rs.files import atomic_torch_save, atomic_write_text
from insta_rs.levels import NoiseLevels
from insta_rs.models.architectures import build_model
from insta_rs.models.checkpoints import load_checkpoint
from insta_rs.runtime.device import autocast, autocast_dtype
from insta_rs.training.config import parse_stage
from insta_rs.training.example_levels import read_levels_tsv, write_levels_tsv
from insta_rs.training.loop import LevelPolicy, build_seeded_model, train_stage
from insta_rs.training.pfat import assign_levels
from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.training.two_stage import TWO_STAGE_METHODS

logger = logging.getLogger(__name__)



def _model_info(job: TrainingJob, dataset_cfg: dict) -> dict:
    return {"arch": job.arch, "num_classes": int(dataset_cfg["num_classes"]), "input_layer": dict(job.input_layer)}


def _identity(step: str, job: TrainingJob, dataset_cfg: dict) -> dict:
    return {"step": step, "arch": job.arch, "input_layer": job.input_layer, "dataset": dataset_cfg,
            "precision": job.precision}


def _write_timing(path: str | os.PathLike, method: str, seconds: float, n_examples: int, device: torch.device,
                  per_epoch: dict | None = None) -> None:
    """``sigma_assignment.json``: the wall time spent choosing training sigmas (the paper's speed comparison)."""
    record = {"method": method, "seconds": round(seconds, 4), "n_examples": n_examples, "device": str(device)}
    if per_epoch is not None:
        record["seconds_per_update_epoch"] = per_epoch
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def _file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def train_fixed_sigma(train_cfg: dict, job: TrainingJob, dataset_cfg: dict, output: StageOutput) -> None:
    """Cohen / SmoothAdv / MACER baseline: every example noised with the constant ``train.sigma``."""
    stage = parse_stage(train_cfg, "fixed", job.where)
    train_set = IndexedDataset(load_split(dataset_cfg, "train"))
    model = build_seeded_model(job.arch, dataset_cfg["num_classes"], job.input_layer, stage.seed)
    train_stage(model, train_set, stage, LevelPolicy("constant", sigma=stage.sigma), output,
                model_info=_model_info(job, dataset_cfg), identity=_identity("fixed_sigma", job, dataset_cfg),
                execution=job.execution())


def train_stage1(method: str, stage1_cfg: dict, job: TrainingJob, dataset_cfg: dict, noise: dict, output: StageOutput,
                 out_timing: str | None = None) -> None:
    """Stage I: Insta-RS (Algorithm 2, adaptive levels; writes ``output.levels_dir`` and ``out_timing``) or
    PFAT (a uniform random level per example and batch)."""
    where = job.where
    if method not in TWO_STAGE_METHODS:
        raise ValueError(f"{where}: method {method!r} has no stage I; use one of {tuple(TWO_STAGE_METHODS)}")
    stage = parse_stage(stage1_cfg, f"{method}_stage1", where)
    train_set = IndexedDataset(load_split(dataset_cfg, "train"))
    model = build_seeded_model(job.arch, dataset_cfg["num_classes"], job.input_layer, stage.seed)
    policy = LevelPolicy(TWO_STAGE_METHODS[method].stage1_policy, noise["sigma0"], noise["n_levels"])
    final = train_stage(model, train_set, stage, policy, output, model_info=_model_info(job, dataset_cfg),
                        identity=_identity(f"{method}_stage1", job, dataset_cfg), execution=job.execution())
    if out_timing is not None:
        per_epoch = {row["epoch"]: row["sigma_update_s"] for row in final["meta"]["history"]
                     if row["epoch"] in final["meta"]["level_history"]}
        _write_timing(out_timing, method, final["meta"]["sigma_assignment_seconds"], len(train_set), job.device,
                      per_epoch)


def assign_pfat_levels(stage1_path: str, stage1_cfg: dict, job: TrainingJob, dataset_cfg: dict, noise: dict,
                       out_levels: str, out_timing: str) -> None:
    """PFAT's grid assignment of a level to every training example (timed), written as ``index level sigma``."""
    device = job.device
    stage = parse_stage(stage1_cfg, "pfat_stage1", job.where)
    record = load_checkpoint(stage1_path)
    model = build_model(record["arch"], record["num_classes"], record["input_layer"])
    model.load_state_dict(record["state_dict"])
    model.to(device)
    train_set = IndexedDataset(load_split(dataset_cfg, "train", augment=False))  # evaluated, not trained on
    with autocast(device, autocast_dtype(job.precision)):
        levels, seconds = assign_levels(model, train_set, NoiseLevels(noise["sigma0"], noise["n_levels"]), stage.m2,
                                        stage.p_max, stage.batch_size, stage.seed, device)
    write_levels_tsv(out_levels, levels, noise["sigma0"])
    _write_timing(out_timing, "pfat", seconds, len(train_set), device)


def train_stage2(method: str, stage2_cfg: dict, job: TrainingJob, dataset_cfg: dict, noise: dict, stage1_path: str,
                 levels_path: str | None, output: StageOutput) -> None:
    """Stage II: fine-tune the stage-I model with fixed levels (from ``levels_path`` for PFAT, else the
    levels saved in the stage-I checkpoint)."""
    where, arch, input_layer = job.where, job.arch, job.input_layer
    stage = parse_stage(stage2_cfg, "stage2", where)
    record = load_checkpoint(stage1_path)
    if record["arch"] != arch or record["input_layer"] != dict(input_layer):
        raise ValueError(f"{where}: arch/input_layer ({arch}, {input_layer}) differ from those of the stage-I "
                         f"model {stage1_path} ({record['arch']}, {record['input_layer']}); make them equal")
    train_set = IndexedDataset(load_split(dataset_cfg, "train"))
    if levels_path is not None:
        levels = read_levels_tsv(levels_path, len(train_set), noise["n_levels"])
    elif record["levels"] is not None:
        levels = record["levels"]
    else:
        raise ValueError(f"{where}: the stage-I model {stage1_path} holds no per-example levels")
    model = build_model(arch, dataset_cfg["num_classes"], input_layer)
    model.load_state_dict(record["state_dict"])
    identity = {**_identity(f"{method}_stage2", job, dataset_cfg), "stage1_sha256": _file_sha256(stage1_path)}
    policy = LevelPolicy("fixed", noise["sigma0"], noise["n_levels"], levels=levels)
    train_stage(model, train_set, stage, policy, output, model_info=_model_info(job, dataset_cfg), identity=identity,
                execution=job.execution())


def export_stage1(stage1_path: str, out_model: str) -> None:
    """A stage-I model as a final model ("without fine-tuning", Table 5): same record, marked in ``meta``."""
    record = load_checkpoint(stage1_path)
    record["meta"] = {**(record["meta"] or {}), "exported_from": str(Path(stage1_path))}
    atomic_torch_save(record, out_model)
    logger.info("exported %s as %s (no fine-tuning)", stage1_path, out_model)
