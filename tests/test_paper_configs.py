"""The paper-scale configs under config/: schema-valid, every paper row referenced, published models named with
the catalog's input layers, and a Snakemake dry run (no data, no network, nothing written to results/) that
plans every rule with the job count the config implies."""

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

from insta_rs.data.fetch import member_info
from insta_rs.workflow.config_check import check_config, load_yaml, merge

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIGS = {"paper-cifar10": [ROOT / "config" / "paper-cifar10.yaml"],  # config files, later ones overlaid
           "paper-imagenet": [ROOT / "config" / "paper-imagenet.yaml"],
           "imagenet-table4-only": [ROOT / "config" / "paper-imagenet.yaml", ROOT / "config" / "imagenet-table4-only.yaml"],
           "imagenet-sequential": [ROOT / "config" / "paper-imagenet.yaml", ROOT / "config" / "sequential.yaml"],
           "cifar10-sequential": [ROOT / "config" / "paper-cifar10.yaml", ROOT / "config" / "sequential.yaml"],
           "gpu-hour-cifar10": [ROOT / "config" / "gpu-hour-cifar10.yaml"]}
PAPER_TABLES = {"paper-cifar10": ["table1", "table2", "table3", "table5", "table6"], "paper-imagenet": ["table4"]}


def load_config(name: str) -> dict:
    """A config as Snakemake sees it: parsed and overlaid, defaults filled in by the schema, relations checked."""
    config = {}
    for path in CONFIGS[name]:
        config = merge(config, load_yaml(path))
    return check_config(config, SCHEMA, local_files=False)


def placeholder_inputs(config: dict, workdir: Path) -> None:
    """What a user puts on disk by hand: an empty file at every local checkpoint path (the MACER model is
    downloaded by hand) and ImageNet's val/ folder."""
    for entry in config["models"].values():
        path = entry.get("pretrained", {}).get("path")
        if path:
            (workdir / path).parent.mkdir(parents=True, exist_ok=True)
            (workdir / path).touch()
    if config["dataset"]["name"] == "imagenet":
        (workdir / config["dataset"]["root"] / "val").mkdir(parents=True)


def parse_job_stats(text: str) -> dict[str, int]:
    """``{rule: jobs}`` from the first "Job stats:" table of Snakemake's output (``total`` included)."""
    lines = [line.strip() for line in text.splitlines()]
    if "Job stats:" not in lines:
        raise AssertionError(f"no job stats in the dry run's output:\n{text[-3000:]}")
    counts = {}
    for line in lines[lines.index("Job stats:") + 3:]:
        rule, count = line.split()
        counts[rule] = int(count)
        if rule == "total":
            return counts
    raise AssertionError("job stats table without a total line")


def start_dry_run(name: str, workdir: Path) -> subprocess.Popen:
    """``snakemake -n`` for config ``name`` with ``workdir`` as working directory, started in the background."""
    placeholder_inputs(load_config(name), workdir)
    command = [str(SNAKEMAKE), "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory",
               str(workdir), "--configfile", *map(str, CONFIGS[name]), "--quiet", "rules"]
    env = {key: value for key, value in os.environ.items() if key != "SNAKEMAKE_PROFILE"}  # the workflow's only
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir,
                            env=env)


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """``{config: (exit status, output, working directory)}``; the three dry runs run side by side."""
    workdirs = {name: tmp_path_factory.mktemp(name) for name in CONFIGS}
    started = {name: start_dry_run(name, workdirs[name]) for name in CONFIGS}
    finished = {}
    for name, process in started.items():
        output, _ = process.communicate(timeout=600)
        finished[name] = (process.returncode, output, workdirs[name])
    return finished


def expected_cifar10_paper(config: dict) -> dict[str, int]:
    """Jobs of config/paper-cifar10.yaml, rule by rule."""
    shards = config["certify"]["shards"]
    pretrained = ["cohen-0.25", "cohen-0.50", "cohen-1.00", "smoothadv-1.00", "macer-1.00"]
    trained = ["setting1", "setting2", "setting3", "setting2-fixed-eps", "setting3-fixed-eps", "setting3-no-finetune",
               "pfat", "pfat-no-finetune"]
    searched = pretrained + trained  # search:fgss rows; their companions need all levels and uniform:validation
    grid, sound = ["setting3"], ["setting3", "smoothadv-1.00"]
    n_searches = len(searched) + len(grid)
    n_assigned = n_searches + len(sound)  # + the certification at the kNN sigma (semi-elastic)
    jobs = {
        "prepare_data": 1, "fetch_pretrained": 2, "import_pretrained": len(pretrained),  # MACER: local file
        "insta_stage1": 3, "insta_stage2": 5, "export_stage1": 2,  # stage I: settings 1, 3, 3-fixed-eps
        "pfat_stage1": 1, "pfat_assign": 1, "pfat_stage2": 1,
        "certify_levels": len(searched) * shards, "search_instance": n_searches * shards,
        "certify_assigned": n_assigned * shards,
        # one merge per sharded job's results: a model's 16 level files, a search, a certification
        "merge_levels": len(searched), "merge_search": n_searches, "merge_assigned": n_assigned,
        "search_uniform": len(searched) + 3,  # validation for every searched model, test for the B.3 models
        # every level on the validation split (companion validation_best), sharded and merged like the test set's
        "certify_validation": len(searched) * shards, "merge_validation": len(searched),
        "collapse_guard": len(searched),  # the levels a model's own choices leave out, from its validation levels
        # + B.3, the training-speed table and the collapse diagnostics of training and of the swept levels
        "table": 6 + 2 + 2, "figure": 6,  # Figures 1(a) x2, 1(c), 3(a), 3(b), 3(c)
        "sound_certificate": 2 * len(sound), "sound_knn_sigma": len(sound),  # the cascade, the semi-elastic sigma
        "sound_falsify": 1, "sound_audit": 1, "all": 1,
    }
    return {**jobs, "total": sum(jobs.values())}


def expected_imagenet_paper(config: dict) -> dict[str, int]:
    """Jobs of config/paper-imagenet.yaml: two published models, RS and Algorithm 1 (Table 4)."""
    shards, models = config["certify"]["shards"], 2
    jobs = {"prepare_data": 1, "fetch_pretrained": 2, "import_pretrained": models,
            "certify_levels": models * shards, "search_instance": models * shards,
            "certify_assigned": models * shards, "merge_levels": models, "merge_search": models,
            "merge_assigned": models,
            "search_uniform": models, "certify_validation": models * shards, "merge_validation": models,
            "collapse_guard": models, "table": 1 + 1, "sound_falsify": 1, "all": 1}  # Table 4 and the collapse diagnostic of the levels
    return {**jobs, "total": sum(jobs.values())}


def expected_gpu_hour(config: dict) -> dict[str, int]:
    """Jobs of config/gpu-hour-cifar10.yaml: Cohen-0.50 and one Insta-RS Train ResNet-20, one shard."""
    assert config["certify"]["shards"] == 1
    models = 2
    n_searches, n_assigned = models + 1, models + 1  # + grid (Figure 3(c)); + the kNN sigma certification
    jobs = {"prepare_data": 1, "fetch_pretrained": 1, "import_pretrained": 1, "insta_stage1": 1,
            "insta_stage2": 1, "certify_levels": models, "search_instance": n_searches,
            "certify_assigned": n_assigned,  # one shard, merged like several
            "merge_levels": models, "merge_search": n_searches, "merge_assigned": n_assigned,
            "search_uniform": models + 1, "certify_validation": models, "merge_validation": models,
            "collapse_guard": models, "table": 3 + 2, "figure": 3,  # table 1, B.3, training speed; collapse of training and of the levels
            "sound_certificate": 2, "sound_knn_sigma": 1, "sound_falsify": 1, "all": 1}
    return {**jobs, "total": sum(jobs.values())}


def expected_imagenet_table4_only(config: dict) -> dict[str, int]:
    """Jobs of the Table-4-only overlay: no companions, so level 16 alone of each model (certify_level)."""
    shards, models = config["certify"]["shards"], 2
    jobs = {"prepare_data": 1, "fetch_pretrained": 2, "import_pretrained": models,
            "certify_level": models * shards, "search_instance": models * shards,
            "certify_assigned": models * shards,  # merges: level 16, the search, its certification
            "merge_level": models, "merge_search": models, "merge_assigned": models,
            "table": 1, "sound_falsify": 1, "all": 1}
    return {**jobs, "total": sum(jobs.values())}


EXPECTED = {"paper-cifar10": expected_cifar10_paper, "paper-imagenet": expected_imagenet_paper,
            "imagenet-sequential": expected_imagenet_paper,  # the same jobs: every row kept
            "cifar10-sequential": expected_cifar10_paper,
            "imagenet-table4-only": expected_imagenet_table4_only, "gpu-hour-cifar10": expected_gpu_hour}


def test_parse_job_stats():
    text = "Building DAG\nJob stats:\njob      count\n-----  -------\ntable        2\nall          1\ntotal        3\n"
    assert parse_job_stats(text) == {"table": 2, "all": 1, "total": 3}


@pytest.mark.parametrize("name", sorted(PAPER_TABLES))
def test_every_paper_row_is_reproduced(name):
    config = load_config(name)
    paper = yaml.safe_load(resources.files("insta_rs.report").joinpath("paper_numbers.yaml").read_text())
    referenced = {row["paper_row"] for table in config["tables"].values() for row in table["rows"]
                  if "paper_row" in row}
    wanted = {f"{table}/{row}" for table in PAPER_TABLES[name] for row in paper[table]["rows"]}
    assert referenced == wanted


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_published_models_match_the_catalog(name):
    for model, entry in load_config(name)["models"].items():
        if "pretrained" in entry:
            published = member_info(entry["pretrained"]["source"], entry["pretrained"]["member"])
            assert (entry["arch"], entry["input_layer"]) == (published["arch"], published["input_layer"]), model


def test_paper_cifar10_uses_the_papers_settings():
    config = load_config("paper-cifar10")
    assert config["dataset"]["test_subset"] == {"every": 20}
    assert (config["certify"]["n0"], config["certify"]["n"], config["certify"]["alpha"]) == (100, 100000, 0.001)
    assert (config["noise"]["n_levels"], config["search"]["m"]) == (16, 500)
    stage1, stage2 = config["models"]["setting3"]["train"]["stage1"], config["models"]["setting3"]["train"]["stage2"]
    assert (stage1["epochs"], stage1["batch_size"], stage1["lr"], stage1["milestones"]) == (150, 128, 0.1, [50, 100])
    assert (stage1["L"], stage1["m2"]) == (10, 8)
    assert (stage2["epochs"], stage2["batch_size"], stage2["lr"], stage2["milestones"]) == (150, 256, 0.001, [50, 100])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_dry_run_plans_every_rule(name, dry_runs):
    returncode, output, workdir = dry_runs[name]
    assert returncode == 0, output[-3000:]
    assert parse_job_stats(output) == EXPECTED[name](load_config(name))
    left = {path.name for path in workdir.iterdir()}
    assert left <= {".snakemake", "data"}, left  # no results/ or resources/: nothing ran, nothing downloaded
