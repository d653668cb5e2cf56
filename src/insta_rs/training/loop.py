"""The resumable training loop shared by every method and stage (fixed sigma, Algorithm 2, PFAT).

Each epoch ends with a checkpoint next to the output (``<output>.partial``): model, optimizer,
scheduler, the states of every random number generator (torch, CUDA, NumPy, Python and the two seeded
``torch.Generator``s that draw the data order and the noise), the per-example levels and the history.
A restarted run with the same settings resumes from it; on CPU the result equals an uninterrupted run
bit for bit. The final checkpoint is written atomically to the output and the partial one removed.

Where each example's sigma comes from (:class:`LevelPolicy`):
``constant`` (one sigma: Cohen / SmoothAdv / MACER baselines), ``adaptive`` (Algorithm 2 stage I: levels
start at 1 and are updated in every epoch with ``epoch % L == 0``, batch by batch before the parameter
update, so the new sigma is used in that epoch), ``fixed`` (Insta-RS stage II, PFAT stage 2) and
``random`` (PFAT stage 1: a uniform level per example, drawn afresh for each batch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from insta_rs.collapse import class_level_counts, format_class_level_counts
from insta_rs.files import atomic_write, set_aside
from insta_rs.levels import NoiseLevels
from insta_rs.models.checkpoints import load_checkpoint, save_checkpoint
from insta_rs.runtime.device import autocast
from insta_rs.runtime.runlog import Progress
from insta_rs.training.config import StageConfig
from insta_rs.training.example_levels import level_histogram, levels_to_sigma, write_levels_tsv
from insta_rs.training.methods import METHODS
from insta_rs.training.pfat import random_levels
from insta_rs.training.sigma_update import update_levels
from insta_rs.training.stage_run import Execution, StageOutput

logger = logging.getLogger(__name__)

POLICY_MODES = ("constant", "adaptive", "fixed", "random")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "lr", "sigma_update_s", "epoch_s", "level_counts"]
LR_DECAY = 0.1


@dataclass
class LevelPolicy:
    """Per-example sigma: ``constant`` (``sigma``) or levels of ``sigma0`` up to ``n_levels``: ``adaptive``,
    ``fixed`` (``levels`` [N]) or ``random``."""

    mode: str
    sigma0: float | None = None
    n_levels: int | None = None
    sigma: float | None = None
    levels: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.mode not in POLICY_MODES:
            raise ValueError(f"level policy mode {self.mode!r} is unknown; use one of {POLICY_MODES}")
        if self.mode == "constant" and self.sigma is None:
            raise ValueError("a constant level policy needs sigma")
        if self.mode != "constant" and (self.sigma0 is None or self.n_levels is None):
            raise ValueError(f"a {self.mode} level policy needs sigma0 and n_levels")
        if self.mode == "fixed" and self.levels is None:
            raise ValueError("a fixed level policy needs per-example levels")


@dataclass
class _Optimization:
    """The state one stage's epochs update: the model, its optimizer and gradient scaler, and the generators of the
    data order and the noise."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    data_gen: torch.Generator
    noise_gen: torch.Generator


def initial_levels(policy: LevelPolicy, n_examples: int) -> torch.Tensor | None:
    """Levels at the start of a stage: all 1 (adaptive), the given ones (fixed), none otherwise."""
    if policy.mode == "adaptive":
        return torch.ones(n_examples, dtype=torch.int64)
    if policy.mode == "fixed":
        if len(policy.levels) != n_examples:
            raise ValueError(f"{len(policy.levels)} levels were given for a training set of {n_examples} examples")
        return policy.levels.to(torch.int64).cpu().clone()
    return None


def build_seeded_model(arch: str, num_classes: int, input_layer: dict, seed: int) -> nn.Module:
    """``models.build_model`` with the torch RNG seeded first, so initial weights follow the stage seed."""
    from insta_rs.models.architectures import build_model

    torch.manual_seed(seed)
    return build_model(arch, num_classes, input_layer)


def fingerprint(identity: dict, stage: StageConfig, policy: LevelPolicy, n_examples: int) -> str:
    """SHA-256 of everything that determines a run; a partial checkpoint resumes only when it matches."""
    levels = initial_levels(policy, n_examples)
    content = {"identity": identity, "stage": stage.as_dict(), "mode": policy.mode, "sigma0": policy.sigma0,
               "n_levels": policy.n_levels, "sigma": policy.sigma, "n_examples": n_examples,
               "levels": None if levels is None else hashlib.sha256(levels.numpy().tobytes()).hexdigest()}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _rng_state(data_gen: torch.Generator, noise_gen: torch.Generator) -> dict:
    """Every RNG state (NumPy's key stored as a tensor, so checkpoints load with ``weights_only=True``)."""
    name, key, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": (name, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, cached),
            "python": random.getstate(), "data": data_gen.get_state(), "noise": noise_gen.get_state()}


def _set_rng_state(state: dict, data_gen: torch.Generator, noise_gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, key, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(state["python"])
    data_gen.set_state(state["data"])
    noise_gen.set_state(state["noise"])


def _seed_all(seed: int, data_gen: torch.Generator, noise_gen: torch.Generator) -> None:
    """Seed torch, NumPy, Python and the data-order / noise generators from the stage seed."""
    data_seed, noise_seed = np.random.SeedSequence(seed).generate_state(2).tolist()
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    data_gen.manual_seed(data_seed)
    noise_gen.manual_seed(noise_seed)


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _batch_sigma(policy: LevelPolicy, levels: torch.Tensor | None, index: torch.Tensor,
                 generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Per-example sigma ``[B]`` on ``device`` for the examples ``index`` of a batch."""
    if policy.mode == "constant":
        return torch.full((len(index),), float(policy.sigma), device=device)
    if policy.mode == "random":
        return levels_to_sigma(random_levels(len(index), policy.n_levels, generator, device), policy.sigma0)
    return levels_to_sigma(levels[index].to(device), policy.sigma0)


def method_loss(stage: StageConfig, model: nn.Module, x: torch.Tensor, labels: torch.Tensor, sigma: torch.Tensor,
                epoch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and number of correct predictions of the stage's method (:data:`METHODS`) for one batch."""
    return METHODS[stage.method].training_loss()(stage, model, x, labels, sigma, epoch, generator)


def _write_history(path: Path, history: list[dict]) -> None:
    with atomic_write(path, "w") as handle:
        handle.write("\t".join(HISTORY_COLUMNS) + "\n")
        for row in history:
            handle.write("\t".join(str(row[name]) for name in HISTORY_COLUMNS) + "\n")


def train_stage(model: nn.Module, train_set: Dataset, stage: StageConfig, policy: LevelPolicy, output: StageOutput,
                *, model_info: dict, identity: dict, execution: Execution) -> dict | None:
    """Train ``model`` for ``stage.epochs`` epochs on ``train_set`` (items ``(x, y, index)``); resumable.

    SGD (momentum, weight decay) with MultiStepLR (x0.1 at ``stage.milestones``). ``model_info`` holds
    ``arch``, ``num_classes``, ``input_layer`` for the checkpoint; ``identity`` (JSON-able) names the run
    so that a partial checkpoint of other settings is not resumed. Returns the final checkpoint dict, or None
    when ``execution.stop_after_epoch`` ended the run early.
    """
    device, autocast_dtype = execution.device, execution.autocast_dtype
    levels_dir, history_path, stop_after_epoch = output.levels_dir, output.history_path, execution.stop_after_epoch
    out_path = Path(output.path)
    partial_path = out_path.with_name(out_path.name + ".partial")
    n_examples = len(train_set)
    run_id = fingerprint(identity, stage, policy, n_examples)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=stage.lr, momentum=stage.momentum,
                                weight_decay=stage.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(stage.milestones), gamma=LR_DECAY)
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda" and autocast_dtype == torch.float16)
    data_gen, noise_gen = torch.Generator(), torch.Generator(device=device)
    levels, history, level_history = initial_levels(policy, n_examples), [], {}
    start_epoch = 1
    saved = None
    if partial_path.exists():
        try:
            saved = load_checkpoint(partial_path)
        except ValueError as error:  # damaged (a crash mid-write cannot do it: saves are atomic)
            set_aside(partial_path, str(error))
    if saved is not None and saved["meta"]["fingerprint"] != run_id:
        logger.warning("%s was written with other settings; starting afresh", partial_path)
        saved = None
    if saved is None:
        _seed_all(stage.seed, data_gen, noise_gen)
    else:
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["meta"]["grad_scaler"])
        _set_rng_state(saved["rng"], data_gen, noise_gen)
        levels, history, level_history = saved["levels"], saved["meta"]["history"], saved["meta"]["level_history"]
        start_epoch = saved["epoch"] + 1
        logger.info("resuming %s from %s after epoch %d", out_path, partial_path, saved["epoch"])
    if levels_dir is not None:
        for epoch, epoch_levels in level_history.items():
            write_levels_tsv(Path(levels_dir) / f"epoch_{epoch}.tsv", epoch_levels, policy.sigma0)

    def save(path: Path, epoch: int) -> None:
        save_checkpoint(path, model, model_info["arch"], model_info["num_classes"], model_info["input_layer"],
                        epoch=epoch, optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                        rng=_rng_state(data_gen, noise_gen), levels=None if levels is None else levels.clone(),
                        meta={"fingerprint": run_id, "identity": identity, "stage": stage.as_dict(),
                              "policy": policy.mode, "sigma": policy.sigma, "sigma0": policy.sigma0,
                              "n_levels": policy.n_levels, "history": history, "level_history": level_history,
                              "sigma_assignment_seconds": sum(row["sigma_update_s"] for row in history),
                              "grad_scaler": scaler.state_dict()})

    run_start = time.perf_counter()
    for epoch in range(start_epoch, stage.epochs + 1):
        row = _train_epoch(_Optimization(model, optimizer, scaler, data_gen, noise_gen), train_set, stage, policy,
                           levels, epoch, execution)
        scheduler.step()
        history.append(row)
        if policy.mode == "adaptive" and epoch % stage.L == 0:
            level_history[epoch] = levels.clone()
            if levels_dir is not None:
                write_levels_tsv(Path(levels_dir) / f"epoch_{epoch}.tsv", levels, policy.sigma0)
        save(partial_path, epoch)
        if history_path is not None:
            _write_history(Path(history_path), history)
        done = epoch - start_epoch + 1
        eta = (time.perf_counter() - run_start) / done * (stage.epochs - epoch)
        logger.info("epoch %d/%d loss %.4f acc %.4f lr %.3g sigma-update %.2fs epoch %.2fs levels %s ETA %.0fs",
                    epoch, stage.epochs, row["loss"], row["accuracy"], row["lr"], row["sigma_update_s"],
                    row["epoch_s"], row["level_counts"], eta)
        if stop_after_epoch is not None and epoch == stop_after_epoch and epoch < stage.epochs:
            return None
    save(out_path, stage.epochs)
    partial_path.unlink(missing_ok=True)
    return load_checkpoint(out_path)


def _train_epoch(optimization: _Optimization, train_set: Dataset, stage: StageConfig, policy: LevelPolicy,
                 levels: torch.Tensor | None, epoch: int, execution: Execution) -> dict:
    """One epoch: the stage-I level update (when due) then the method's parameter update, batch by batch."""
    model, optimizer, scaler = optimization.model, optimization.optimizer, optimization.scaler
    data_gen, noise_gen = optimization.data_gen, optimization.noise_gen
    device, autocast_dtype, num_workers = execution.device, execution.autocast_dtype, execution.num_workers
    update_due = policy.mode == "adaptive" and epoch % stage.L == 0
    loader = DataLoader(train_set, batch_size=stage.batch_size, sampler=RandomSampler(train_set, generator=data_gen),
                        generator=data_gen, num_workers=num_workers, pin_memory=device.type == "cuda")
    lr = optimizer.param_groups[0]["lr"]
    loss_sum, correct_sum, seen, update_s = 0.0, 0.0, 0, 0.0
    updated = []  # (labels, new levels) per batch of the update pass: each example once, with its final level
    epoch_start = time.perf_counter()
    progress = Progress(logger, len(train_set), f"training examples of epoch {epoch}" + " (with the level update)"
                        * update_due, every_s=60, final=False)  # a long epoch shows progress; the epoch line follows
    model.train()
    for x, labels, index in loader:
        x, labels = x.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if update_due:
            started = _clock(device)
            with autocast(device, autocast_dtype):
                new_levels = update_levels(model, x, labels, levels[index].to(device),
                                           NoiseLevels(policy.sigma0, policy.n_levels), stage.m2, stage.p_max,
                                           noise_gen)
            levels[index] = new_levels.cpu()
            update_s += _clock(device) - started
            updated.append((labels.cpu(), new_levels.cpu()))
        sigma = _batch_sigma(policy, levels, index, noise_gen, device)
        with autocast(device, autocast_dtype):
            loss, correct = method_loss(stage, model, x, labels, sigma, epoch, noise_gen)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.item() * len(index)
        correct_sum += float(correct)
        seen += len(index)
        progress.update(len(index))
    if updated:  # collapse diagnostics: do the raised levels belong to a few classes? (insta_rs.collapse)
        labels_seen, levels_seen = (torch.cat(column).numpy() for column in zip(*updated))
        logger.info("epoch %d: levels by class after the update (rows: class, columns: level 1..%d)\n%s", epoch,
                    policy.n_levels, format_class_level_counts(class_level_counts(labels_seen, levels_seen,
                                                                                  policy.n_levels)))
    counts = "-" if levels is None else ",".join(str(c) for c in level_histogram(levels, policy.n_levels))
    return {"epoch": epoch, "loss": round(loss_sum / seen, 6), "accuracy": round(correct_sum / seen, 6),
            "lr": float(f"{lr:.6g}"), "sigma_update_s": round(update_s, 4),
            "epoch_s": round(time.perf_counter() - epoch_start, 4), "level_counts": counts}
