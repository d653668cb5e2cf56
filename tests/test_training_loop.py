"""The resumable loop: an interrupted and resumed run equals an uninterrupted one bit for bit (CPU)."""

import logging

import pandas as pd
import pytest
import torch
from torch import nn

from insta_rs.data.datasets import IndexedDataset
from insta_rs.data.sources import TensorImageDataset
from insta_rs.training.config import parse_stage
from insta_rs.training.loop import LevelPolicy, train_stage
from insta_rs.training.stage_run import Execution, StageOutput

INFO = {"arch": "tiny", "num_classes": 3, "input_layer": {"kind": "none"}}
CPU = torch.device("cpu")


def tiny_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Identity(), nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                                      nn.Linear(8, 3)))


def dataset():
    generator = torch.Generator().manual_seed(0)
    return IndexedDataset(TensorImageDataset(torch.rand(24, 1, 2, 2, generator=generator),
                                             torch.randint(0, 3, (24,), generator=generator)))


STAGE = parse_stage({"method": "smoothadv", "epochs": 3, "batch_size": 8, "lr": 0.1, "milestones": [2],
                     "m_train": 2, "steps": 2, "warmup": 2, "L": 1, "m2": 2, "seed": 5}, "insta_stage1", "test")


def run(out_dir, stop_after_epoch=None, model_seed=0, identity=None):
    output = StageOutput(out_dir / "stage1.pt", levels_dir=out_dir / "levels", history_path=out_dir / "history.tsv")
    return train_stage(tiny_model(model_seed), dataset(), STAGE, LevelPolicy("adaptive", 0.25, 16), output,
                       model_info=INFO, identity=identity or {"model": "m"},
                       execution=Execution(CPU, stop_after_epoch=stop_after_epoch))


def assert_same(first, second):
    for key in first["state_dict"]:
        assert torch.equal(first["state_dict"][key], second["state_dict"][key]), key
    assert torch.equal(first["levels"], second["levels"])
    assert first["optimizer"]["state"].keys() == second["optimizer"]["state"].keys()
    for key, state in first["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], second["optimizer"]["state"][key]["momentum_buffer"])
    assert first["scheduler"]["last_epoch"] == second["scheduler"]["last_epoch"] == 3


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return run(tmp_path_factory.mktemp("straight"))


def test_resumed_run_equals_uninterrupted_run(tmp_path, uninterrupted):
    assert run(tmp_path, stop_after_epoch=1) is None
    assert (tmp_path / "stage1.pt.partial").exists() and not (tmp_path / "stage1.pt").exists()
    assert run(tmp_path, stop_after_epoch=2, model_seed=1) is None
    resumed = run(tmp_path, model_seed=2)
    assert_same(uninterrupted, resumed)
    assert not (tmp_path / "stage1.pt.partial").exists()
    saved = torch.load(tmp_path / "stage1.pt", weights_only=True)
    assert_same(uninterrupted, saved)
    assert saved["levels"].dtype == torch.int64 and len(saved["levels"]) == 24
    assert [row["epoch"] for row in saved["meta"]["history"]] == [1, 2, 3]
    assert sorted(saved["meta"]["level_history"]) == [1, 2, 3]
    for epoch in (1, 2, 3):
        table = pd.read_csv(tmp_path / "levels" / f"epoch_{epoch}.tsv", sep="\t")
        assert list(table.columns) == ["index", "level", "sigma"] and table["index"].tolist() == list(range(24))
        assert table["level"].tolist() == saved["meta"]["level_history"][epoch].tolist()
    assert len(pd.read_csv(tmp_path / "history.tsv", sep="\t")) == 3


def test_partial_checkpoint_of_other_settings_is_not_resumed(tmp_path, uninterrupted):
    run(tmp_path, stop_after_epoch=1, identity={"model": "other"})
    fresh = run(tmp_path)
    assert_same(uninterrupted, fresh)


def test_constant_sigma_baseline_has_no_levels(tmp_path):
    stage = parse_stage({"method": "gaussian", "epochs": 1, "batch_size": 8, "lr": 0.1, "sigma": 0.5}, "fixed", "t")
    final = train_stage(tiny_model(0), dataset(), stage, LevelPolicy("constant", 0.25, 16, sigma=0.5),
                        StageOutput(tmp_path / "checkpoint.pt"), model_info=INFO, identity={}, execution=Execution(CPU))
    assert final["levels"] is None and final["meta"]["sigma_assignment_seconds"] == 0
    assert set(final) == {"arch", "num_classes", "input_layer", "state_dict", "epoch", "optimizer", "scheduler",
                          "rng", "levels", "meta"}


def test_a_damaged_partial_checkpoint_is_set_aside_and_training_restarts(tmp_path, uninterrupted, caplog):
    assert run(tmp_path, stop_after_epoch=1) is None
    partial = tmp_path / "stage1.pt.partial"
    partial.write_bytes(partial.read_bytes()[:1000])  # as a full disk or a damaged copy leaves it
    with caplog.at_level("WARNING"):
        assert_same(uninterrupted, run(tmp_path))
    assert (tmp_path / "stage1.pt.partial.damaged").stat().st_size == 1000
    assert "truncated or not a torch checkpoint" in caplog.text


def test_a_long_epoch_logs_its_progress_within_the_epoch(tmp_path, monkeypatch, caplog):
    """Each batch is made to take a minute (the progress clock advances 61 s per reading): every batch of the
    3 epochs logs a line with rate and ETA, and the level-update epochs say so."""
    from insta_rs.runtime import runlog

    clock = iter(range(0, 10**6, 61))
    monkeypatch.setattr(runlog.time, "monotonic", lambda: float(next(clock)))
    with caplog.at_level(logging.INFO, logger="insta_rs.training.loop"):
        run(tmp_path)
    lines = [r.getMessage() for r in caplog.records if "training examples of epoch" in r.getMessage()]
    assert len(lines) == 3 * 3  # 24 examples in batches of 8, each batch a minute
    assert lines[0].startswith("8/24 training examples of epoch 1 (with the level update) (") and "ETA" in lines[0]
