"""End-to-end tests of the Snakemake workflow: real runs of the tiny config (.test/config/config.yaml) as
subprocesses of the environment's own ``snakemake``.

One completed run is shared by the module (``tiny_run``); it is made from a copy of the repository
(``repo_copy``) so that the rerun-trigger test can edit files there without touching the checkout.
Snakemake records the package files a step imports by absolute path, so every run that reuses the shared
results must use that same copy. The SLURM test runs only with ``INSTA_RS_SLURM_TEST=1`` (tests/slurm/).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TINY_CONFIG = Path(".test", "config", "config.yaml")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "results", "resources", ".snakemake", "__pycache__",
                                     ".pytest_cache", "*.egg-info", "*.partial", "report.html")
NOTHING_TO_DO = "Nothing to be done"
# Merged over the tiny config (a second --configfile: `--config certify={n: 1000}` would pass the number
# as a string, which the schema rejects): enough samples that certifying takes seconds and can be
# interrupted mid-way; record_time false makes the files byte-identical across runs.
SLOW_CERTIFY = {"certify": {"n": 2000, "record_time": False}}
CERTIFY_MODEL = "cohen-0.50"


def snakemake(repo: Path, workdir: Path | None, *args: str, configfiles: tuple[Path, ...] = (TINY_CONFIG,),
              check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake on ``repo``'s Snakefile in ``workdir`` (None: the repository itself) on 2 cores;
    fail the test with the tail of its output when ``check`` and it exits non-zero."""
    command = snakemake_command(repo, workdir, configfiles, *args)
    process = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=900)
    if check and process.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {process.returncode}:\n{process.stdout[-3000:]}\n"
                    f"{process.stderr[-8000:]}")
    return process


def snakemake_command(repo: Path, workdir: Path | None, configfiles: tuple[Path, ...], *args: str) -> list[str]:
    """The command line: config files relative to ``repo`` unless absolute, merged in order (none: the
    Snakefile's default config); they come last because --configfile takes every value after it."""
    location = ["--directory", str(workdir)] if workdir is not None else []
    configs = ["--configfile", *(str(repo / path) for path in configfiles)] if configfiles else []
    return [str(SNAKEMAKE), "--snakefile", str(repo / "Snakefile"), "--cores", "2", *location, *args, *configs]


def planned_jobs(process: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts per rule from a dry run's summary table (empty when nothing is to be done)."""
    output = process.stdout + process.stderr
    if NOTHING_TO_DO in output:
        return {}
    table = re.search(r"^job\s+count\n-+\s+-+\n(.*?)^total\s", output, flags=re.MULTILINE | re.DOTALL)
    assert table, f"no job table in the dry run's output:\n{output[-3000:]}"
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table[1], flags=re.MULTILINE)}


def tiny_config(repo: Path) -> dict:
    return yaml.safe_load((repo / TINY_CONFIG).read_text())


def configured_tables_and_figures(config: dict) -> list[str]:
    """The tables (md, tex, tsv) and figures (png, pdf) the config names (a subset of rule ``all``'s)."""
    run = f"results/{config['run']}"
    tables = list(config.get("tables", {})) + (["b3"] if config.get("analysis", {}).get("b3") else [])
    return ([f"{run}/tables/{name}.{ext}" for name in tables for ext in ("md", "tex", "tsv")]
            + [f"{run}/figures/{name}.{ext}" for name in config.get("figures", {}) for ext in ("png", "pdf")])


def tables_and_figures(repo: Path, workdir: Path) -> list[str]:
    """Every table and figure in the DAG of rule ``all`` (from ``snakemake --summary``)."""
    summary = snakemake(repo, workdir, "--summary").stdout
    paths = [line.split("\t")[0] for line in summary.splitlines()[1:]]
    return [path for path in paths if re.search(r"/(tables|figures)/[^/]+\.(md|tex|tsv|png|pdf)$", path)]


def level_targets(config: dict) -> list[str]:
    return [f"results/{config['run']}/certify/{CERTIFY_MODEL}/level{k}.tsv"
            for k in range(1, config["noise"]["n_levels"] + 1)]


def copy_workdir(source: Path, destination: Path) -> Path:
    """A copy of a finished working directory, file times and Snakemake's records included."""
    shutil.copytree(source, destination, symlinks=True, ignore=shutil.ignore_patterns("locks", "*.html"))
    return destination


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("repo") / "insta-rs"
    shutil.copytree(REPO, copy, symlinks=True, ignore=COPY_IGNORE)
    return copy


@pytest.fixture(scope="module")
def tiny_run(repo_copy, tmp_path_factory) -> Path:
    """A working directory with a complete run of the tiny config."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    snakemake(repo_copy, workdir)
    return workdir


@pytest.fixture(scope="module")
def slow_certify(tmp_path_factory) -> tuple[Path, ...]:
    """Config files: the tiny config with SLOW_CERTIFY merged over it."""
    overlay = tmp_path_factory.mktemp("config") / "slow_certify.yaml"
    overlay.write_text(yaml.safe_dump(SLOW_CERTIFY))
    return TINY_CONFIG, overlay


@pytest.fixture(scope="module")
def uninterrupted_certification(repo_copy, tiny_run, slow_certify, tmp_path_factory) -> Path:
    """The shared run's model certified at every level with SLOW_CERTIFY, without interruption."""
    workdir = copy_workdir(tiny_run, tmp_path_factory.mktemp("certify_once") / "work")
    snakemake(repo_copy, workdir, *level_targets(tiny_config(repo_copy)), configfiles=slow_certify)
    return workdir


def test_full_run_writes_every_table_and_figure(repo_copy, tiny_run):
    magic = {"png": b"\x89PNG", "pdf": b"%PDF"}
    made = tables_and_figures(repo_copy, tiny_run)
    assert set(configured_tables_and_figures(tiny_config(repo_copy))) <= set(made)
    for path in made:
        content = (tiny_run / path).read_bytes()
        extension = path.rsplit(".", 1)[1]
        if extension in magic:
            assert content.startswith(magic[extension]), path
        else:
            assert len(content.decode().strip().splitlines()) >= 2, path
        if extension == "tsv":
            assert "\t" in content.decode().splitlines()[0], path


def test_second_run_has_nothing_to_do(repo_copy, tiny_run):
    dry_run = snakemake(repo_copy, tiny_run, "-n")
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


def test_rerun_triggers_and_touch(repo_copy, tiny_run):
    """An edited figure script re-runs only its figure; an edited package module re-runs the steps that
    import it; ``--touch`` accepts the edit without recomputing."""
    with cosmetic_edit(repo_copy / "scripts" / "make_figure_fig1a.py"):
        assert set(planned_jobs(snakemake(repo_copy, tiny_run, "-n"))) - {"all"} == {"fig1a"}

    with cosmetic_edit(repo_copy / "src" / "insta_rs" / "smoothing.py"):
        planned = set(planned_jobs(snakemake(repo_copy, tiny_run, "-n")))
        assert {"certify_levels", "certify_assigned", "search_instance", "search_uniform"} <= planned
        assert not {"download_cifar10", "train_fixed_sigma", "insta_stage1", "insta_stage2"} & planned
        snakemake(repo_copy, tiny_run, "--touch")
        assert planned_jobs(snakemake(repo_copy, tiny_run, "-n")) == {}


def test_report_contains_every_table_and_figure(repo_copy, tiny_run, tmp_path):
    report = tmp_path / "report.html"
    snakemake(repo_copy, tiny_run, "--report", str(report))
    html = report.read_text(errors="replace")
    missing = [path for path in tables_and_figures(repo_copy, tiny_run) if Path(path).name not in html]
    assert not missing, f"report lacks {missing}"


@pytest.mark.parametrize("change, key", [
    ({"certify": {"alpha": 2}}, "alpha"),
    ({"certify": {"n_samples": 100}}, "n_samples"),
    ({"certify": {"n0": 300, "n": 200}}, "certify.n0"),
    ({"dataset": {"test_subset": {"start": 5, "stop": 5}}}, "dataset.test_subset"),
], ids=["alpha-above-1", "unknown-key", "n0-above-n", "empty-test-subset"])
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
    assert not (workdir / "results").exists()


def test_killed_certification_resumes_to_identical_file(repo_copy, tiny_run, slow_certify,
                                                        uninterrupted_certification, tmp_path):
    """Kill Snakemake and its job (SIGKILL to the process group) once a .partial file holds rows,
    unlock, re-run: the job resumes and its TSV equals, byte for byte, the uninterrupted run's."""
    config = tiny_config(repo_copy)
    target = level_targets(config)[-1]
    workdir = copy_workdir(tiny_run, tmp_path / "work")
    command = snakemake_command(repo_copy, workdir, slow_certify, target)
    certifications = workdir / f"results/{config['run']}/certify/{CERTIFY_MODEL}"
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(command, cwd=repo_copy, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            rows_before_kill = wait_for_partial_rows(certifications, process)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the group is gone when the run ended early
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert rows_before_kill >= 1, (tmp_path / "killed.log").read_text()[-3000:]
    assert not (workdir / target).exists()  # Snakemake removed the old output before starting the job

    snakemake(repo_copy, workdir, "--unlock", configfiles=slow_certify)
    snakemake(repo_copy, workdir, target, configfiles=slow_certify)
    logs = (workdir / f"results/{config['run']}/logs/certify/{CERTIFY_MODEL}").rglob("*.log")
    assert any("resuming" in log.read_text() for log in logs)
    assert (workdir / target).read_bytes() == (uninterrupted_certification / target).read_bytes()


def wait_for_partial_rows(directory: Path, process: subprocess.Popen, timeout_s: float = 300) -> int:
    """Wait until a .partial file below ``directory`` has at least one complete row; the rows it had
    then (0 when the process ended first or the wait timed out)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        for partial in directory.rglob("*.partial"):
            rows = partial.read_text().count("\n") - 1
            if rows >= 1:
                return rows
        time.sleep(0.05)
    return 0


def test_three_shards_merge_to_the_single_shard_file(repo_copy, tiny_run, slow_certify, uninterrupted_certification,
                                                     tmp_path):
    targets = level_targets(tiny_config(repo_copy))
    workdir = copy_workdir(tiny_run, tmp_path / "work")
    snakemake(repo_copy, workdir, *targets, "--set-scatter", "shard=3", configfiles=slow_certify)
    assert len(list((workdir / Path(targets[0]).parent / "shards" / "level1").glob("*-of-3.tsv"))) == 3
    for target in targets:
        assert (workdir / target).read_bytes() == (uninterrupted_certification / target).read_bytes(), target


@pytest.mark.skipif(os.environ.get("INSTA_RS_SLURM_TEST") != "1",
                    reason="set INSTA_RS_SLURM_TEST=1 (needs root and slurm-wlm; see tests/slurm/README.md)")
def test_tiny_run_on_single_node_slurm(tmp_path):
    """The tiny config on a throw-away one-node SLURM cluster, through the SLURM profile (tests/slurm/run.sh
    starts the daemons, runs, checks that every SLURM job completed and nothing is left to do)."""
    process = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "run.sh"), str(tmp_path)], cwd=REPO,
                             capture_output=True, text=True, timeout=3600,
                             env={**os.environ, "SNAKEMAKE": str(SNAKEMAKE)})
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-6000:]
