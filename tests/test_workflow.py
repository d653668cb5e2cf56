"""End-to-end tests of the Snakemake workflow: real runs of the tiny config (.test/config/config.yaml) as
subprocesses of the environment's own ``snakemake``.

One completed run is shared by the session (``tiny_run``, conftest.py): it is made inside a copy of the repository
(``repo_copy``), as a user runs it, and tests that change files or results work on copies of that checkout
(``copy_workdir``). The SLURM test runs only with ``INSTA_RS_SLURM_TEST=1`` (tests/slurm/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tiny_workflow import (
    REPO,
    SNAKEMAKE,
    TINY_CONFIG,
    configured_tables_and_figures,
    copy_workdir,
    overlay_file,
    planned_jobs,
    planned_steps,
    snakemake,
    snakemake_command,
    tables_and_figures,
    tiny_config,
)

from insta_rs.certification.records import read_certification
from insta_rs.runtime.device import gpu_visible

# Merged over the tiny config (a second --configfile: `--config certify={n: 1000}` would pass the number
# as a string, which the schema rejects): enough samples that certifying takes seconds and can be
# interrupted mid-way; record_time false makes the files byte-identical across runs.
SLOW_CERTIFY = {"certify": {"n": 2000, "record_time": False}}
CERTIFY_MODEL = "cohen-0.50"


def level_targets(config: dict) -> list[str]:
    return [f"results/{config['run']}/certify/{CERTIFY_MODEL}/level{k}.tsv"
            for k in range(1, config["noise"]["n_levels"] + 1)]


@pytest.fixture(scope="module")
def slow_certify(tmp_path_factory) -> tuple[Path, ...]:
    """Config files: the tiny config with SLOW_CERTIFY merged over it."""
    overlay = tmp_path_factory.mktemp("config") / "slow_certify.yaml"
    overlay.write_text(yaml.safe_dump(SLOW_CERTIFY))
    return TINY_CONFIG, overlay


@pytest.fixture(scope="module")
def uninterrupted_certification(tiny_run, slow_certify, tmp_path_factory) -> Path:
    """The shared run's model certified at every level with SLOW_CERTIFY, without interruption."""
    checkout = copy_workdir(tiny_run, tmp_path_factory.mktemp("certify_once") / "checkout")
    snakemake(checkout, None, *level_targets(tiny_config(checkout)), configfiles=slow_certify)
    return checkout


def test_full_run_writes_every_table_and_figure(tiny_run):
    magic = {"png": b"\x89PNG", "pdf": b"%PDF"}
    made = tables_and_figures(tiny_run, None)
    assert set(configured_tables_and_figures(tiny_config(tiny_run))) <= set(made)
    for path in made:
        content = (tiny_run / path).read_bytes()
        extension = path.rsplit(".", 1)[1]
        if extension in magic:
            assert content.startswith(magic[extension]), path
        else:
            assert len(content.decode().strip().splitlines()) >= 2, path
        if extension == "tsv":
            assert "\t" in content.decode().splitlines()[0], path


def test_every_table_names_the_precision_of_its_rows(tiny_run):
    tables = sorted((tiny_run / "results" / tiny_config(tiny_run)["run"] / "tables").glob("*.md"))
    assert len(tables) == 7  # table1, table3, b3, training_speed, the two collapse tables, falsification
    for path in tables:
        if path.name != "falsification.md":  # exact probabilities of an analytic classifier: no network computes
            assert "Precision: fp32: every forward pass behind these rows ran in float32." in path.read_text(), path


def test_dual_selector_is_certified_with_its_own_settings(tiny_run):
    """Dual RS's selector certification reads the settings meant for it: sigma_sel (not a level's sigma), its
    share of alpha and its own noise seed."""
    config = tiny_config(tiny_run)
    dual = config["sound"]["dual"]
    for model in config["sound"]["models"]:
        frame = read_certification(tiny_run / "results" / config["run"] / "certify" / model / "selector.tsv")
        assert np.allclose(frame["sigma"], dual["selector"]["train"]["sigma"]), model
        assert np.allclose(frame["alpha"], dual.get("alpha_share", 0.5) * config["certify"]["alpha"]), model
        assert (frame["seed"] != config["certify"]["seed"]).all(), model


def test_second_run_has_nothing_to_do(tiny_run):
    dry_run = snakemake(tiny_run, None, "-n")
    assert planned_jobs(dry_run) == {}, dry_run.stdout[-3000:]


@pytest.mark.parametrize("configfiles", [(), (TINY_CONFIG,)], ids=["default-config", "tiny-config"])
def test_lint_is_clean(repo_copy, configfiles):
    lint = snakemake(repo_copy, None, "--lint", configfiles=configfiles, check=False)
    assert lint.returncode == 0, lint.stdout[-4000:] + lint.stderr[-4000:]


@contextlib.contextmanager
def cosmetic_edit(path: Path):
    """Append a comment to ``path`` (a real edit: Snakemake 9 ignores a newer input whose checksum it
    recorded unchanged), then restore its text and file times."""
    text, stat = path.read_text(), path.stat()
    try:
        path.write_text(text + "# a cosmetic edit\n")
        later = time.time() + 2  # newer than every output even on coarse file-time clocks
        os.utime(path, (later, later))
        yield path
    finally:
        path.write_text(text)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_rerun_triggers_and_touch(tiny_run, tmp_path):
    """An edited figure script re-runs only the figures; an edited package module re-runs the steps that
    import it; ``--touch`` accepts the edit without recomputing."""
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    with cosmetic_edit(checkout / "scripts" / "make_figure.py"):
        assert set(planned_jobs(snakemake(checkout, None, "-n"))) - {"all"} == {"figure"}

    with cosmetic_edit(checkout / "src" / "insta_rs" / "certification" / "runner.py"):
        planned = set(planned_jobs(snakemake(checkout, None, "-n")))
        assert {"certify_levels", "certify_assigned", "merge_levels", "merge_assigned"} <= planned
        assert not {"prepare_data", "train_fixed_sigma", "insta_stage1", "insta_stage2", "search_instance"} & planned
        snakemake(checkout, None, "--touch")
        assert planned_jobs(snakemake(checkout, None, "-n")) == {}

    with cosmetic_edit(checkout / "src" / "insta_rs" / "sound" / "semi_elastic.py"):  # one sound mode's module
        planned = planned_steps(snakemake(checkout, None, "-n"))
        assert "sound_certificate:semi_elastic" in planned
        assert not {"sound_certificate:cascade", "sound_certificate:dual", "certify_levels"} & planned


HOW_CHANGES = {  # one "how" setting changed at a time: the results stay valid, nothing may re-run
    "certify.batch_size": ({"certify": {"batch_size": 256}}, ()),
    "search.batch_size": ({"search": {"batch_size": 100}}, ()),
    "certify.record_time": ({"certify": {"record_time": False}}, ()),
    "certify.shards": ({"certify": {"shards": 3}}, ()),
    "--set-scatter": ({}, ("--set-scatter", "shard=2")),
    "device (auto, no GPU here)": ({"device": "auto"}, ()),
    "cost.calibration_s": ({"cost": {"calibration_s": 5}}, ()),
    "--set-threads": ({}, ("--set-threads", "certify_levels=2", "train_fixed_sigma=2")),
}


@pytest.mark.parametrize("change, args", HOW_CHANGES.values(), ids=HOW_CHANGES)
def test_how_changes_plan_nothing(tiny_run, tmp_path, change, args):
    if "device" in change and gpu_visible():
        pytest.skip("device: auto means cuda on this machine")
    overlay = (overlay_file(tmp_path, change),) if change else ()  # an empty config file is an error
    dry_run = snakemake(tiny_run, None, "-n", *args, configfiles=(TINY_CONFIG, *overlay))
    assert planned_jobs(dry_run) == {}, dry_run.stdout[-3000:]


MERGES = {"merge_levels", "merge_search", "merge_assigned"}
SEARCHES_AND_CERTIFICATIONS = {"certify_levels", "certify_assigned", "search_instance", "search_uniform",
                               "sound_certificate:cascade", "sound_certificate:semi_elastic", "table", "figure",
                               "all"} | MERGES
CERTIFICATIONS = SEARCHES_AND_CERTIFICATIONS - {"search_instance", "search_uniform", "merge_search"}
VALIDATION = {"certify_validation", "merge_validation"}  # every level on the validation split
DUAL_CERTIFICATION = {"certify_selector", "merge_selector", "sound_certificate:dual"}  # of the test subset
DUAL_TRAINING = {"dual_labels", "dual_selector"}  # the selector's labels use p_max = alpha ** (1 / n)
# The collapse guard (from the validation certifications) and every choice it feeds: Algorithm 3 on the validation
# split, the cascade, the semi-elastic sigma and its certification, Dual RS's labels, selector and certificate.
GUARDED = {"collapse_guard", "search_uniform", "sound_certificate:cascade", "sound_knn_sigma", "certify_assigned",
           "merge_assigned", "sound_certificate:semi_elastic", "dual_labels", "dual_selector", "certify_selector",
           "merge_selector", "sound_certificate:dual"}
PROTOCOL_CHANGES = {  # one "what" setting changed at a time: exactly the results that depend on it re-run
    "certify.n (and the search's p_max)": ({"certify": {"n": 300}}, SEARCHES_AND_CERTIFICATIONS | VALIDATION
                                           | DUAL_CERTIFICATION | DUAL_TRAINING | GUARDED),
    "certify.n0 (not the test set's searches)": ({"certify": {"n0": 7}},
                                                 CERTIFICATIONS | VALIDATION | DUAL_CERTIFICATION | GUARDED),
    "search.m": ({"search": {"m": 30}}, {"search_instance", "search_uniform", "certify_assigned", "table", "figure",
                                        "all", "merge_search", "merge_assigned"}),
    "dataset.test_subset": ({"dataset": {"test_subset": {"every": 20, "limit": 20}}},
                            SEARCHES_AND_CERTIFICATIONS | {"sound_knn_sigma"} | DUAL_CERTIFICATION),
    "a table's title": ({"tables": {"table1": {"title": "renamed"}}}, {"table", "all"}),
    "certify.validation_seed": ({"certify": {"validation_seed": 7}}, VALIDATION | GUARDED | {"table", "all"}),
    "sound.dual.alpha_share": ({"sound": {"dual": {"alpha_share": 0.25}}}, DUAL_CERTIFICATION | {"table", "all"}),
    "a model's training": ({"models": {"cohen-0.50": {"train": {"epochs": 2}}}},
                           {"train_fixed_sigma", "certify_levels", "certify_assigned", "search_instance",
                            "search_uniform", "table", "figure", "all", "collapse_guard"} | MERGES | VALIDATION),
}


@pytest.mark.parametrize("change, planned", PROTOCOL_CHANGES.values(), ids=PROTOCOL_CHANGES)
def test_protocol_changes_plan_exactly_their_dependents(tiny_run, tmp_path, change, planned):
    dry_run = snakemake(tiny_run, None, "-n", configfiles=(TINY_CONFIG, overlay_file(tmp_path, change)))
    assert planned_steps(dry_run) == planned, dry_run.stdout[-3000:]


# The tiny config certified with the sequential procedure (radius mode), and every sound mode audited.
SEQUENTIAL = {"certify": {"procedure": "sequential"},
              "sound": {"audit": {"models": ["insta"], "modes": ["insta_rs", "cascade", "semi_elastic", "dual"],
                                  "n_examples": 5, "n_predict": 200, "steps": 2}}}


def test_sequential_procedure_keeps_every_row_and_the_audit_finds_no_violation(tiny_run, tmp_path):
    """Under certify.procedure: sequential every table and figure of the fixed-N run is made with all its rows (the
    alpha/K envelope, the cascade, the semi-elastic sigma, Dual RS and the validation baselines included), each
    certification row names the sequential procedure, and the audit finds no violation of any sound mode."""
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    snakemake(checkout, None, configfiles=(TINY_CONFIG, overlay_file(tmp_path, SEQUENTIAL)))
    tables = sorted((tiny_run / "results/tiny/tables").glob("*.tsv"))
    assert any(path.name == "table3.tsv" for path in tables)
    for path in tables:
        fixed, sequential = (pd.read_csv(root / "results/tiny/tables" / path.name, sep="\t")
                             for root in (tiny_run, checkout))
        assert list(sequential.columns) == list(fixed.columns), path.name
        if "result" in fixed.columns:  # a table of certification rows
            assert sequential[["label", "result"]].equals(fixed[["label", "result"]]), path.name
            assert sequential["procedure"].str.startswith("sequential:radius").all(), path.name
            assert (fixed["procedure"] == "cohen").all(), path.name
    for path in sorted((tiny_run / "results/tiny/figures").iterdir()):
        assert (checkout / "results/tiny/figures" / path.name).stat().st_size > 0
    audit = pd.read_csv(checkout / "results/tiny/tables/audit.tsv", sep="\t").set_index("mode")
    assert set(audit.index) == {"insta_rs", "cascade", "semi_elastic", "dual"}
    assert (audit.loc[["cascade", "semi_elastic", "dual"], "violated"] == 0).all(), audit
    levels = read_certification(checkout / "results/tiny/certify/insta/level2.tsv")
    assert levels["procedure"].iloc[0].endswith(":read0.5,0.25,0.125")  # Dual RS, alpha/K, the cascade's 1/(2K)


def test_moved_checkout_plans_nothing(tiny_run, tmp_path):
    """``cp -a`` of the whole project folder (results included) to another path: nothing to do there."""
    moved = tmp_path / "elsewhere" / "renamed-checkout"
    moved.parent.mkdir()
    subprocess.run(["cp", "-a", str(tiny_run), str(moved)], check=True)
    dry_run = snakemake(moved, None, "-n")
    assert planned_jobs(dry_run) == {}, dry_run.stdout[-3000:]


def write_image_folders(root: Path, n_train: int, n_test: int) -> None:
    """A data set of random 32x32 RGB images as users keep CIFAR-10 images: train/<class>/, test/<class>/."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", n_train), ("test", n_test)):
        for label in range(10):
            (root / split / f"class{label}").mkdir(parents=True)
            for number in range(count):
                pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / f"class{label}" / f"{number}.png")


FOLDER_CONFIG = {
    "run": "folder", "device": "cpu",
    "dataset": {"name": "imagefolder", "num_classes": 10, "validation_size": 10, "image_size": 32,
                "crop_padding": 4, "test_subset": {"every": 2}},
    "noise": {"sigma0": 0.25, "n_levels": 2},
    "certify": {"n0": 10, "n": 40, "alpha": 0.01, "batch_size": 256},
    "search": {"m": 4, "starts": [[1, 1], [2, -1]], "batch_size": 256},
    "models": {"m": {"arch": "cifar_resnet20", "input_layer": {"kind": "none"},
                     "train": {"method": "gaussian", "sigma": 0.25, "epochs": 1, "batch_size": 32, "lr": 0.1}}},
    "analysis": {"radii": [0.0, 0.25]},
    "sound": {"falsify": {"dim": 64, "rho": 2.0}},
    "tables": {"t": {"companions": False, "rows": [{"label": "RS", "model": "m", "result": "level:2"}]}},
}


def test_moving_the_data_plans_nothing(repo_copy, tmp_path):
    """Real images in class folders (the imagefolder kind, Cohen's crop-and-flip augmentation): after a run,
    moving the data and pointing dataset.root at the new place re-runs nothing."""
    write_image_folders(tmp_path / "images", n_train=4, n_test=2)
    config = tmp_path / "folder.yaml"
    config.write_text(yaml.safe_dump({**FOLDER_CONFIG, "dataset": {**FOLDER_CONFIG["dataset"],
                                                                   "root": str(tmp_path / "images")}}))
    workdir = tmp_path / "work"
    workdir.mkdir()
    snakemake(repo_copy, workdir, configfiles=(config,))
    assert (workdir / "results/folder/tables/t.md").exists()
    (tmp_path / "images").rename(tmp_path / "moved-images")
    config.write_text(config.read_text().replace(str(tmp_path / "images"), str(tmp_path / "moved-images")))
    dry_run = snakemake(repo_copy, workdir, "-n", configfiles=(config,))
    assert planned_jobs(dry_run) == {}, dry_run.stdout[-3000:]


def report_text(report: Path) -> str:
    """The HTML of a Snakemake report, and for a zip report the names of the files it packs."""
    if report.suffix != ".zip":
        return report.read_text(errors="replace")
    with zipfile.ZipFile(report) as archive:
        names = archive.namelist()
        pages = [archive.read(name).decode(errors="replace") for name in names if name.endswith(".html")]
    assert pages, names
    return "\n".join([*pages, *names])


@pytest.mark.parametrize("name", ["report.html", "report.zip"])
def test_report_has_every_table_figure_and_sound_result_with_captions(tiny_run, tmp_path, name):
    """Both forms of ``snakemake --report``: the self-contained page and the zip the catalog's conventions use."""
    report = tmp_path / name
    snakemake(tiny_run, None, "--report", str(report))
    html = report_text(report)
    made = tables_and_figures(tiny_run, None)
    sound = [f"{model}/{mode}.tsv" for model in tiny_config(tiny_run)["sound"]["models"]
             for mode in ("cascade", "semi_elastic", "dual")]
    assert "results/tiny/tables/falsification.md" in made and sound
    missing = [path for path in made + sound if Path(path).name not in html]
    assert not missing, f"report lacks {missing}"
    captions = ["Figure 1(a): average certified radius", "Figure 3(c): number of test examples",
                "Certified accuracy at each L2 radius", "Appendix B.3: the uniform noise level",
                "The exact counterexample to the Insta-RS radius", "A sound input-adaptive certification",
                "Collapse diagnostics of training", "Collapse diagnostics of the certified levels",
                "the best certified ACR on the validation split"]
    assert [caption for caption in captions if caption not in html] == []


def requirement_closure(distribution: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Names of the installed distributions that ``pip install distribution[extras]`` pulls in."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen, todo = set(), [(distribution, extras)]
    while todo:
        name, wanted = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra})
                                                 for extra in ("", *wanted)):
                todo.append((requirement.name, tuple(requirement.extras)))
    return seen


def test_report_dependencies_come_with_the_readme_install():
    """`pip install -e .` (the README's command, no test extra) installs what `snakemake --report` needs; the
    test extra alone would hide a missing one (pytest brings pygments), and snakemake does not bring it."""
    assert "pygments" in requirement_closure("insta-rs")
    assert "pygments" not in requirement_closure("snakemake")  # the check has power: this is what was missing


@pytest.mark.parametrize("change, key", [
    ({"certify": {"alpha": 2}}, "certify.alpha = 2: must be < 1"),
    ({"certify": {"n_samples": 100}}, "certify.n_samples: unknown key"),
    ({"certify": {"n0": 300, "n": 200}}, "certify.n0 = 300 exceeds certify.n = 200"),
    ({"dataset": {"test_subset": {"start": 5, "stop": 5}}}, "dataset.test_subset: stop (5)"),
    ({"models": {"insta": {"arch": "digits_cnn", "input_layer": {"kind": "none"}, "train": {
        "method": "insta", "stage1_from": "insta", "stage2": {"method": "smoothadv", "epochs": 1, "batch_size": 8,
                                                            "lr": 0.1, "m_trian": 2}}}}},
     "models.insta.train.stage2.m_trian: not a setting of method smoothadv"),
], ids=["alpha-above-1", "unknown-key", "n0-above-n", "empty-test-subset", "typo-in-a-stage"])
def test_bad_config_fails_before_any_job(repo_copy, tmp_path, change, key):
    config = tiny_config(repo_copy)
    for section, values in change.items():
        config[section] = {**config[section], **values}
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "work"
    workdir.mkdir()
    process = snakemake(repo_copy, workdir, configfiles=(configfile,), check=False)
    output = process.stdout + process.stderr
    assert process.returncode != 0
    assert key in output, output[-3000:]
    assert len(output) < 3000  # the error, not a schema dump
    assert not (workdir / "results").exists()


def test_yaml_error_in_the_default_config_names_file_and_line(repo_copy, tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(repo_copy, checkout, symlinks=True, ignore=shutil.ignore_patterns("results", ".snakemake"))
    (checkout / "config.yaml").write_text("run: demo\ndataset:\n  name: digits\n   num_classes: 10\n")
    process = snakemake(checkout, None, "-n", configfiles=(), check=False)
    assert process.returncode != 0 and "config.yaml, line 4, column 15: not valid YAML" in process.stdout + \
        process.stderr


def test_killed_certification_resumes_to_identical_file(tiny_run, slow_certify, uninterrupted_certification,
                                                        tmp_path):
    """Kill Snakemake and its job (SIGKILL to the process group) once a .partial file holds rows,
    unlock, re-run: the job resumes and its TSV equals, byte for byte, the uninterrupted run's."""
    config = tiny_config(tiny_run)
    target = level_targets(config)[-1]
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    command = snakemake_command(checkout, None, slow_certify, target)
    certifications = checkout / f"results/{config['run']}/certify/{CERTIFY_MODEL}"
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(command, cwd=checkout, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            rows_before_kill = wait_for_partial_rows(certifications, process)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the group is gone when the run ended early
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert rows_before_kill >= 1, (tmp_path / "killed.log").read_text()[-3000:]

    locked = snakemake(checkout, None, target, configfiles=slow_certify, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr  # what the README says to do
    snakemake(checkout, None, "--unlock", configfiles=slow_certify)
    snakemake(checkout, None, target, configfiles=slow_certify)
    logs = [log.read_text() for log in (checkout / f"results/{config['run']}/logs/certify/{CERTIFY_MODEL}").rglob("*.log")]
    assert any("resuming" in log for log in logs)
    assert (checkout / target).read_bytes() == (uninterrupted_certification / target).read_bytes()


def wait_for_partial_rows(directory: Path, process: subprocess.Popen, timeout_s: float = 300) -> int:
    """Wait until a .partial file below ``directory`` has at least one complete row; the rows it had
    then (0 when the process ended first or the wait timed out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        for partial in directory.rglob("*.partial"):
            rows = partial.read_text(errors="replace").count("\n") - 1
            if rows >= 1:
                return rows
        time.sleep(0.05)
    return 0


def test_three_shards_merge_to_the_single_shard_file(tiny_run, slow_certify, uninterrupted_certification, tmp_path):
    """Three shard jobs and a merge give the one-shard file byte for byte; the shard files are temporary, and
    going back to one shard re-runs nothing."""
    targets = level_targets(tiny_config(tiny_run))
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    for target in targets:
        (checkout / target).unlink()
    snakemake(checkout, None, *targets, "--set-scatter", "shard=3", configfiles=slow_certify)
    logs = checkout / f"results/tiny/logs/certify/{CERTIFY_MODEL}/levels"
    assert sorted(path.name for path in logs.glob("*-of-3.log")) == [f"{i}-of-3.log" for i in (1, 2, 3)]
    assert not list((checkout / Path(targets[0]).parent).glob("shards/*/*.tsv"))  # temporary
    for target in targets:
        assert (checkout / target).read_bytes() == (uninterrupted_certification / target).read_bytes(), target
    assert planned_jobs(snakemake(checkout, None, "-n", *targets, configfiles=slow_certify)) == {}


@pytest.mark.skipif(os.environ.get("INSTA_RS_SLURM_TEST") != "1",
                    reason="set INSTA_RS_SLURM_TEST=1 (needs root and slurm-wlm; see tests/slurm/README.md)")
def test_tiny_run_on_single_node_slurm(tmp_path):
    """The tiny config on a throw-away one-node SLURM cluster, through the SLURM profile (tests/slurm/run.sh
    starts the daemons, runs, checks that every SLURM job completed and nothing is left to do)."""
    process = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "run.sh"), str(tmp_path)], cwd=REPO,
                             capture_output=True, text=True, timeout=3600,
                             env={**os.environ, "SNAKEMAKE": str(SNAKEMAKE)})
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-6000:]
