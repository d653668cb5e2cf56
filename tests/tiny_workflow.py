"""Running the workflow from tests: Snakemake as a subprocess of the environment's own ``snakemake`` on a copy of the
repository, with the tiny config (.test/config/config.yaml). The session shares one complete tiny run (the ``tiny_run``
fixture of conftest.py); tests that change files or results work on copies of it (:func:`copy_workdir`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from insta_rs.runtime.gpu_slots import SIMULATE_ENV

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TINY_CONFIG = Path(".test", "config", "config.yaml")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "results", "resources", ".snakemake", "__pycache__",
                                     ".pytest_cache", "*.egg-info", "*.partial", "report.html")
NOTHING_TO_DO = "Nothing to be done"
def snakemake(repo: Path, workdir: Path | None, *args: str, configfiles: tuple[Path, ...] = (TINY_CONFIG,),
              check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake on ``repo``'s Snakefile in ``workdir`` (None: the repository itself) on 2 cores, in
    ``env`` (default: this process's environment); fail the test with the tail of its output when ``check`` and
    it exits non-zero."""
    command = snakemake_command(repo, workdir, configfiles, *args)
    process = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=900, env=env)
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


def planned_steps(process: subprocess.CompletedProcess) -> set[str]:
    """The rules a dry run plans, each sound certificate as ``sound_certificate:<mode>`` (one rule runs every mode)."""
    jobs = planned_jobs(process)
    modes = re.findall(r"^rule sound_certificate:\n(?:    .*\n)*?    wildcards: .*\bmode=(\w+)",
                       process.stdout + process.stderr, flags=re.MULTILINE)
    assert len(modes) == jobs.get("sound_certificate", 0), "a sound certificate job without its mode"
    return set(jobs) - {"sound_certificate"} | {f"sound_certificate:{mode}" for mode in modes}


def tiny_config(repo: Path) -> dict:
    return yaml.safe_load((repo / TINY_CONFIG).read_text())


def configured_tables_and_figures(config: dict) -> list[str]:
    """The tables (md, tex, tsv) and figures (png, pdf) the config names (a subset of rule ``all``'s)."""
    run = f"results/{config['run']}"
    tables = list(config.get("tables", {})) + (["b3"] if config.get("analysis", {}).get("b3") else [])
    return ([f"{run}/tables/{name}.{ext}" for name in tables for ext in ("md", "tex", "tsv")]
            + [f"{run}/figures/{name}.{ext}" for name in config.get("figures", {}) for ext in ("png", "pdf")])


def tables_and_figures(repo: Path, workdir: Path | None) -> list[str]:
    """Every table and figure in the DAG of rule ``all`` (from ``snakemake --summary``)."""
    summary = snakemake(repo, workdir, "--summary").stdout
    paths = [line.split("\t")[0] for line in summary.splitlines()[1:]]
    return [path for path in paths if re.search(r"/(tables|figures)/[^/]+\.(md|tex|tsv|png|pdf)$", path)]


def copy_workdir(source: Path, destination: Path) -> Path:
    """A copy of a finished working directory (here: a checkout with its results), file times and Snakemake's
    records included."""
    shutil.copytree(source, destination, symlinks=True, ignore=shutil.ignore_patterns("locks", "*.html"))
    return destination


def overlay_file(directory: Path, change: dict) -> Path:
    """A config file holding ``change``, merged over the tiny config as a second --configfile."""
    path = directory / "overlay.yaml"
    path.write_text(yaml.safe_dump(change))
    return path


# Included by a Snakefile beside a copy of ours: prints each rule's name, whether it asks for a GPU, whether it is local.
RULES_PROBE = """include: "Snakefile"

for defined in workflow.rules:
    print("rule", defined.name, "gpu" in defined.resources.keys(), defined.name in workflow._localrules)
"""


def defined_rules(destination: Path) -> dict[str, dict[str, bool]]:
    """Every rule as Snakemake defines it (those the rule files make in loops included), one GPU simulated:
    ``{name: {"gpu": asks for a GPU, "local": a localrule}}``."""
    copy = destination / "insta-rs"
    shutil.copytree(REPO, copy, symlinks=True, ignore=COPY_IGNORE)
    (copy / "rules_probe.smk").write_text(RULES_PROBE)
    command = [str(SNAKEMAKE), "--snakefile", "rules_probe.smk", "--list-rules", "--configfile", str(TINY_CONFIG)]
    process = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=300,
                             env={**os.environ, SIMULATE_ENV: "1"})
    assert process.returncode == 0, process.stderr[-3000:]
    rules = re.findall(r"^rule (\w+) (True|False) (True|False)$", process.stdout, flags=re.MULTILINE)
    return {name: {"gpu": gpu == "True", "local": local == "True"} for name, gpu, local in rules}
