"""The bill before the run (insta_rs.cost.passes, insta_rs.cost.bill, insta_rs.cost.calibrate, ``snakemake cost``): forward
passes counted by hand for the tiny config, job counts equal to the paper configs' dry runs, every job counted once
per target, the published-timing hours of docs/paper-scale.md, the sequential ranges, the calibration's budget,
and the command itself on a config whose data is not on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from test_paper_configs import CONFIGS, EXPECTED, load_config

from insta_rs.cost import bill as cost_report
from insta_rs.cost.calibrate import Throughput, measure
from insta_rs.cost.passes import RunCost, cost_alone_requested
from insta_rs.layout import Layout
from insta_rs.training.methods import METHODS
from insta_rs.workflow.config_check import check_config, load_yaml, merge
from insta_rs.workflow.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def run_cost(*paths: Path, change: dict | None = None) -> RunCost:
    config = {}
    for path in paths:
        config = merge(config, load_yaml(path))
    config = check_config(merge(config, change or {}), SCHEMA, local_files=False)
    return RunCost(Plan(config, Layout.of_run(config)))


def passes_by_rule(cost: RunCost) -> dict[str, float]:
    totals: dict[str, float] = {}
    for key in needed(cost):
        totals[cost.work[key].rule] = totals.get(cost.work[key].rule, 0) + cost.work[key].passes
    return totals


def test_tiny_config_forward_passes_by_hand():
    cost = run_cost(ROOT / ".test" / "config" / "config.yaml")
    E, V, T = 24, 40, 1297 - 40   # test subset (every 20th of 500, first 24), validation, training digits
    n0, n, m, K = 20, 200, 20, 4  # certify.n0, certify.n, search.m, noise.n_levels
    assert (cost.splits.test, cost.splits.validation, cost.splits.train, cost.splits.shape) == (E, V, T, (1, 8, 8))
    assert passes_by_rule(cost) == {
        "train_fixed_sigma": 3 * T * 3,                           # 3 Gaussian epochs: forward and backward
        "certify_levels": 2 * K * E * (n0 + n),                   # both models at every level (companion rows)
        "search_instance": 3 * K * m * E,                         # fgss x 2 (ASS 7.614 capped at K = 4), grid
        "certify_assigned": 4 * E * (n0 + n),                     # fgss x 2, grid, the kNN sigma
        "search_uniform": K * m * (E + 2 * V),                    # B.3's test split, validation for both models
        "certify_validation": 2 * K * V * (n0 + n),               # validation_n defaults to n
        "insta_stage1": 2 * T * 3 + 2 * T * 2 * 4,                # 2 Gaussian epochs + 2 level updates (L = 1, m2 = 4)
        "insta_stage2": 1 * T * 3 * 2 * (2 + 1),                  # SmoothAdv: m_train 2, steps 2, + the update
        "dual_labels": 2 * 100 * T,                               # candidates 1, 4 at m = 100
        "dual_selector": 1 * T * 3, "certify_selector": E * (n0 + n),
        "sound_knn_sigma": 0,                                     # kNN distances: no forward passes
    }
    assert cost.architectures() == ["digits_cnn"]


def test_training_cost_comes_from_the_method_registry():
    options = {name: option.default for name, option in METHODS["smoothadv"].options.items()}
    assert METHODS["smoothadv"].forward_cost({**options, "m_train": 2, "steps": 10}) == 66  # docs/paper-scale.md
    assert METHODS["gaussian"].forward_cost({}) == 3
    assert METHODS["macer"].forward_cost({"k": 16}) == 48


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_jobs_per_rule_are_the_dry_runs(name):
    """The jobs cost counts per rule are those test_paper_configs asserts of Snakemake's own dry runs."""
    cost = run_cost(*CONFIGS[name])
    jobs: dict[str, int] = {}
    for key in needed(cost):
        jobs[cost.work[key].rule] = jobs.get(cost.work[key].rule, 0) + cost.work[key].jobs
    expected = EXPECTED[name](load_config(name))
    assert jobs == {rule: expected[rule] for rule in jobs}
    assert set(jobs) >= {rule for rule in expected if rule.startswith(("certify_", "search_", "insta_", "pfat_"))}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_job_is_counted_once_at_the_first_target_that_needs_it(name):
    cost = run_cost(*CONFIGS[name])
    first = [key for _, keys in cost.first_needed() for key in keys]
    assert len(first) == len(set(first))
    assert set(first) == {key for _, keys in cost.targets() for key in keys}


def needed(cost: RunCost) -> list[str]:
    """Every job of the run, once."""
    return list(dict.fromkeys(key for _, keys in cost.targets() for key in keys))


def published_hours(cost: RunCost, keys) -> float:
    bill = cost_report.Bill(cost, {arch: 1.0 for arch in cost.architectures()})
    return bill.seconds(keys, bill.published) / 3600


def test_published_timings_give_docs_paper_scale_figures():
    """docs/paper-scale.md: 224 certifications of 2.08 GPU-h, the searches and the validation split make 514 h of
    evaluation for paper-cifar10, training 147 h; paper-imagenet 744 h."""
    cifar = run_cost(*CONFIGS["paper-cifar10"])
    jobs = needed(cifar)
    evaluation = [key for key in jobs if not cifar.work[key].training and cifar.work[key].rule != "sound_audit"]
    training = [key for key in jobs if cifar.work[key].training]
    assert sum(cifar.work[key].certifications for key in jobs) == 224
    assert published_hours(cifar, evaluation) == pytest.approx(514, abs=1)
    assert published_hours(cifar, training) == pytest.approx(147, abs=1)
    imagenet = run_cost(*CONFIGS["paper-imagenet"])
    assert published_hours(imagenet, needed(imagenet)) == pytest.approx(744, abs=1)
    only4 = run_cost(*CONFIGS["imagenet-table4-only"])
    assert published_hours(only4, needed(only4)) == pytest.approx(85, abs=1)


def test_sequential_range_scales_only_the_certifications_estimation_samples():
    cost = run_cost(*CONFIGS["imagenet-sequential"])
    bill = cost_report.Bill(cost, {"resnet50": 1000.0})
    low, high, note = bill.ratios
    assert (low, high) == (0.295, 0.414) and "digits models" in note and "bench/sequential.py" in note
    keys = needed(cost)
    certifications = 2 * (16 + 1) * 500  # two models: 16 levels and Algorithm 1's sigmas, 500 images each
    validation = 2 * 16 * 1000 * 2000  # and 16 levels of the 1000 validation images at validation_n = 2000
    assert bill.passes(keys) - bill.passes(keys, low) == pytest.approx((certifications * 100_000 + validation)
                                                                       * (1 - low))
    assert "cap 745 h; expected 227 h to 314 h" in bill.time(keys, bill.published)  # docs/paper-scale.md
    decision = cost_report.sequential_ratios({"mode": "decision"})
    assert decision[:2] == (0.094, 0.181)
    assert "nearest" in cost_report.sequential_ratios({"mode": "radius", "tolerance": 0.05})[2]


def test_calibration_keeps_within_its_budget_on_a_slow_architecture():
    measured = measure("cifar_resnet110", (3, 32, 32), 10, 100_000, torch.device("cpu"), "fp32", budget_s=1.0)
    assert measured.batch_size < 100_000 and measured.passes >= 2 and measured.passes_per_s > 0
    quick = measure("digits_cnn", (1, 8, 8), 10, 256, torch.device("cpu"), "fp32", budget_s=0.5)
    assert quick.batch_size == 256 and quick.configured_batch == 256


def test_the_report_names_rules_targets_and_assumptions():
    cost = run_cost(*CONFIGS["paper-cifar10"])
    throughput = {"cifar_resnet110": Throughput("cifar_resnet110", (3, 32, 32), 1000, 1000, 10, 1.5, 6673.3)}
    text = cost_report.render(cost, throughput, "cuda: a test GPU", 20.0)
    assert "| certify_levels | 130 | 10.4 G | 433 h | 433 h |" in text
    assert "| table1 | cohen-0.50, macer-1.00, smoothadv-1.00 | 52 |" in text
    assert "ASS = 7.614" in text and "RTX 2080 Ti" in text


@pytest.mark.parametrize("argv, alone", [
    (["snakemake", "cost", "--configfile", "c.yaml"], True),
    (["snakemake", "--configfile", "c.yaml", "--", "cost"], True),
    (["snakemake", "--configfile", "c.yaml", "cost"], False),  # --configfile takes cost as a second file
    (["snakemake", "cost", "all"], False), (["snakemake", "--until", "cost"], False), (["snakemake"], False)])
def test_cost_alone_is_read_from_the_command_line(argv, alone):
    assert cost_alone_requested(argv) is alone


def test_snakemake_cost_needs_no_data_on_disk(tmp_path):
    """``snakemake cost`` for paper-imagenet in a directory without ImageNet prints and writes the bill; the same
    directory refuses a dry run of the tables (the data check is skipped for the cost target only)."""
    overlay = tmp_path / "quick.yaml"
    overlay.write_text(yaml.safe_dump({"cost": {"calibration_s": 1}}))
    command = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--cores", "1"]
    configs = ["--configfile", str(ROOT / "config" / "paper-imagenet.yaml"), str(overlay)]
    done = subprocess.run([*command, "cost", *configs], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "results" / "paper-imagenet" / "cost.md").read_text()
    assert report in done.stdout and "| resnet50 | 3x224x224 | 400 |" in report
    assert "this machine shows no GPU" in report or "cuda:" in report
    refused = subprocess.run([*command, "-n", *configs], capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "files this run needs are missing" in refused.stdout + refused.stderr
