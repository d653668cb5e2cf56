"""What the workflow guarantees about a results folder, on copies of the session's real tiny run (``tiny_run``):
every kind of damage to a finished result is named and recomputed, and the run ends with the tables of the undamaged
run; the same protocol in another key order plans nothing; every entry point says what it does (--config over
config.yaml, empty config files, a second run started at the same moment)."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_workflow import (
    TINY_CONFIG,
    copy_workdir,
    overlay_file,
    planned_jobs,
    snakemake,
    snakemake_command,
    tiny_config,
)

RUN = Path("results/tiny")
LEVEL = RUN / "certify/insta/level2.tsv"
COPIED = RUN / "search/insta/uniform_validation.tsv"  # Algorithm 3's choice on the validation split, read by table3


def edit_lines(path: Path, change) -> None:
    lines = path.read_text().split("\n")
    path.write_text("\n".join(change(lines)))


def edit_radius(lines: list[str]) -> list[str]:
    """The radius of the 4th example (line 5) changed to another value in range."""
    fields = lines[4].split("\t")
    fields[3] = f"{float(fields[3]) / 2:.6f}"
    return [*lines[:4], "\t".join(fields), *lines[5:]]


def random_bytes(path: Path) -> None:
    """16 random bytes (none a newline) over the middle of line 3."""
    data = bytearray(path.read_bytes())
    start = data.index(b"\n", data.index(b"\n") + 1) + 10
    data[start:start + 16] = random.Random(0).randbytes(16)
    path.write_bytes(bytes(data))


# damage kind: (result, what is done to it, how the check names it). Each result is read by a table, so a wrong one
# would change a table; the copied result is checked where a job reads it (its seal is intact): none of the damaged
# results is among its inputs (its collapse guard reads insta's validation certifications), so no job remakes it first.
DAMAGES = {
    "edited value in range": (LEVEL, lambda p: edit_lines(p, edit_radius),
                              "line 5 differs from what the workflow wrote"),
    "removed rows": (RUN / "search/insta/fgss.tsv", lambda p: edit_lines(p, lambda lines: lines[:3] + lines[5:]),
                     "lines 4-5 removed"),
    "duplicated row": (RUN / "certify/cohen-0.50/search_fgss.tsv",
                       lambda p: edit_lines(p, lambda lines: lines[:6] + [lines[5]] + lines[6:]),
                       "line 7: 1 line added (a copy of line 6)"),
    "random bytes": (RUN / "certify/cohen-0.50/validation/level3.tsv", random_bytes, "line 3 differs from what the workflow "
                     "wrote (it is not text)"),
    "truncated": (RUN / "search/cohen-0.50/uniform_test.tsv", lambda p: p.write_bytes(p.read_bytes()[:-10]),
                  "line 5: cut short (the file was truncated; 5 lines written)"),
    "missing seal": (RUN / "tables/table1.tsv", lambda p: Path(f"{p}.seal").unlink(), "has no seal"),
}


@pytest.fixture(scope="module")
def result_of_another_protocol(tiny_run, tmp_path_factory) -> Path:
    """:data:`COPIED` (with its seal) from a run of the tiny config with another search.m."""
    checkout = copy_workdir(tiny_run, tmp_path_factory.mktemp("other_protocol") / "checkout")
    overlay = overlay_file(checkout.parent, {"search": {"m": 30}})
    snakemake(checkout, None, str(COPIED), configfiles=(TINY_CONFIG, overlay))
    return checkout / COPIED


def tables(checkout: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((checkout / RUN / "tables").iterdir())
            if path.suffix in (".md", ".tex", ".tsv")}


def test_every_damage_is_named_and_recomputed_and_the_tables_are_the_undamaged_runs(tiny_run, tmp_path,
                                                                                     result_of_another_protocol):
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    for path, damage, _ in DAMAGES.values():
        damage(checkout / path)
    for name in (COPIED.name, f"{COPIED.name}.seal"):  # a result copied from a run with another protocol
        (checkout / COPIED).with_name(name).write_bytes(result_of_another_protocol.with_name(name).read_bytes())

    dry_run = snakemake(checkout, None, "-n")
    for (path, _, named), kind in zip(DAMAGES.values(), DAMAGES):
        assert f"{path}: {named}" in dry_run.stdout + dry_run.stderr, kind
    assert {"certify_levels", "search_instance", "certify_assigned", "certify_validation", "search_uniform",
            "table"} <= set(planned_jobs(dry_run))  # the run to come recomputes each, and what was made from them
    for args in (("--summary",), ("--unlock",), ("--list-changes", "params"), ("--report", str(tmp_path / "r.html"))):
        # these only look
        snakemake(checkout, None, *args)
    assert all((checkout / path).exists() for path, _, _ in DAMAGES.values())

    first = snakemake(checkout, None, check=False)
    output = first.stdout + first.stderr
    for (path, _, named), kind in zip(DAMAGES.values(), DAMAGES):
        label = "unsealed" if kind == "missing seal" else "damaged"
        assert f"{path}: {named}" in output and f"moved it to {path}.{label}; this run recomputes it" in output, kind
        assert (checkout / f"{path}.{label}").exists(), kind  # set aside, not deleted
    assert first.returncode != 0  # the table that reads the copied result stops the run, naming it:
    assert (f"{COPIED}: was computed under another protocol than this run's (search.m = 30 where this run's is 20): "
            f"a result of another run, or of this run before its config changed; moved it to {COPIED}.damaged; run "
            "the same command again: it recomputes it") in output
    assert "Traceback" not in output and "UnicodeDecodeError" not in output

    snakemake(checkout, None)
    assert tables(checkout) == tables(tiny_run)
    assert planned_jobs(snakemake(checkout, None, "-n")) == {}


def reordered(value, order):
    """``value`` with every mapping's keys in ``order`` (sorted or reversed); the same values."""
    if isinstance(value, dict):
        keys = sorted(value, key=str) if order == "sorted" else list(reversed(list(value)))
        return {key: reordered(value[key], order) for key in keys}
    if isinstance(value, list):
        return [reordered(item, order) for item in value]
    return value


@pytest.mark.parametrize("order", ["sorted", "reversed", "defaults written out"])
def test_the_same_protocol_in_another_key_order_plans_nothing(tiny_run, tmp_path, order):
    from insta_rs.workflow.config_check import check_config

    config = tiny_config(tiny_run)
    if order == "defaults written out":
        config = check_config(config, tiny_run / "workflow/schemas/config.schema.yaml", local_files=False)
    path = tmp_path / "same.yaml"
    path.write_text(yaml.dump(reordered(config, "reversed" if order == "reversed" else "sorted"), sort_keys=False))
    assert path.read_text() != (tiny_run / TINY_CONFIG).read_text()
    dry_run = snakemake(tiny_run, None, "-n", configfiles=(path,))
    assert planned_jobs(dry_run) == {}, dry_run.stdout[-3000:]


def test_two_runs_started_at_the_same_moment_one_stops_with_the_lock_message(tiny_run, tmp_path):
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    command = snakemake_command(checkout, None, (TINY_CONFIG,), "--forcerun", "sound_falsify")
    runs = [subprocess.Popen(command, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    codes = sorted(run.returncode for run in runs)
    stopped = next(output for run, output in zip(runs, outputs) if run.returncode != 0)
    assert codes[0] == 0 and codes[1] != 0, outputs
    assert "LockException:\nError: Directory cannot be locked." in stopped and "--unlock argument" in stopped
    assert "Traceback" not in stopped and "modification time" not in stopped and 'File "' not in stopped
    assert not list((checkout / RUN).rglob("*.damaged*")) and not list((checkout / RUN).rglob("*.unsealed*"))
    assert tables(checkout) == tables(tiny_run) and planned_jobs(snakemake(checkout, None, "-n")) == {}


def test_config_values_merge_over_the_default_config(repo_copy):
    dry_run = snakemake(repo_copy, None, "-n", "--config", "run=foo", configfiles=())
    assert planned_jobs(dry_run)["all"] == 1 and "results/foo/tables/table1.md" in dry_run.stdout


def test_an_empty_config_file_is_an_error_naming_it(repo_copy, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    process = snakemake(repo_copy, tmp_path, "-n", configfiles=(empty,), check=False)
    assert process.returncode != 0
    assert f"{empty}: a config file must be a mapping of keys (run:, dataset:, models:, ...); this one is empty" in \
        process.stdout + process.stderr


@pytest.mark.parametrize("text, what", [("", "is empty"), ("{}\n", "is empty"), ("- run: demo\n", "holds a list")])
def test_an_empty_or_other_default_config_is_an_error_naming_it(repo_copy, tmp_path, text, what):
    checkout = copy_workdir(repo_copy, tmp_path / "checkout")
    (checkout / "config.yaml").write_text(text)
    process = snakemake(checkout, None, "-n", configfiles=(), check=False)
    output = process.stdout + process.stderr
    assert process.returncode != 0 and "config.yaml: a config file must be a mapping of keys" in output
    assert f"this one {what}" in output


def test_the_cost_benchmark_prints_its_table(tiny_run):
    process = subprocess.run([sys.executable, str(tiny_run / "bench" / "integrity.py"), "--config", str(TINY_CONFIG),
                              "--repeats", "1"], cwd=tiny_run, capture_output=True, text=True, check=True)
    assert re.search(r"^results/tiny: \d+ results, \d+ files, [\d.]+ MB$", process.stdout, re.M), process.stdout
    assert len(re.findall(r"^\| [a-z].* \| \d+\.\d{3} \|$", process.stdout, re.M)) == 4, process.stdout
