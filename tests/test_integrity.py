"""Tests for insta_rs.workflow.integrity on files made here (the workflow tests damage a real run: test_results_folder.py):
a job's inputs verified (intact, this run's protocol, made from the results here), its outputs sealed, the run's
folder checked at the start of a run. Each check is shown to pass on what the workflow wrote (negative control)."""

import copy
from pathlib import Path

import pytest
import yaml

from insta_rs.workflow.config_check import check_config, merge
from insta_rs.workflow.integrity import ResultError, check_results, seal_outputs, verify_inputs
from insta_rs.workflow.protocols import Protocols
from insta_rs.workflow.seal import read_seal, seal_path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TINY = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())
ROWS = "idx\tlabel\tpredict\tradius\n" + "".join(f"{i}\t{i % 10}\t{i % 10}\t0.{i:03d}\n" for i in range(10))


def protocols_of(change: dict | None = None) -> Protocols:
    return Protocols.of_config(check_config(merge(copy.deepcopy(TINY), change or {}), SCHEMA, local_files=False),
                               SCHEMA)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A working directory with a sealed checkpoint and a level file certified from it, as jobs write them."""
    monkeypatch.chdir(tmp_path)
    protocols = protocols_of()
    layout = protocols.layout
    checkpoint, level = layout.checkpoint("insta"), layout.level("insta", 2)
    for path, text in ((checkpoint, "weights"), (level, ROWS)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    seal_outputs([checkpoint], protocols, protocols.of(checkpoint), {}, "insta_stage2")
    inputs = verify_inputs([checkpoint, "src/insta_rs/files.py"], protocols)  # code is no result: not verified
    seal_outputs([level], protocols, protocols.of(level), inputs, "merge_levels")
    return protocols, checkpoint, level


def test_intact_inputs_pass_and_name_their_sums(run):
    protocols, checkpoint, level = run
    verified = verify_inputs([level, checkpoint], protocols)
    assert set(verified) == {"certify/insta/level2.tsv", "models/insta/checkpoint.pt"}
    assert read_seal(level)["inputs"] == {"models/insta/checkpoint.pt": verified["models/insta/checkpoint.pt"]}


def test_a_damaged_input_is_set_aside_and_named_with_its_line(run):
    protocols, _, level = run
    Path(level).write_text(ROWS.replace("0.004", "0.099"))
    with pytest.raises(ResultError) as error:
        verify_inputs([level], protocols)
    assert str(error.value) == (f"{level}: line 6 differs from what the workflow wrote; moved it to {level}.damaged; "
                                "run the same command again: it recomputes it")
    assert not Path(level).exists() and Path(f"{level}.damaged.seal").exists()


def test_an_input_of_another_protocol_names_the_setting(run):
    _, _, level = run
    with pytest.raises(ResultError, match=r"level2.tsv: was computed under another protocol than this run's "
                                          r"\(certify.n = 200 where this run's is 300\)"):
        verify_inputs([level], protocols_of({"certify": {"n": 300}}))


def test_an_input_computed_from_another_upstream_result_is_refused(run):
    """A level file whose checkpoint has been replaced since (another training, a copy from elsewhere)."""
    protocols, checkpoint, level = run
    Path(checkpoint).write_text("other weights")
    seal_outputs([checkpoint], protocols, protocols.of(checkpoint), {}, "insta_stage2")
    assert verify_inputs([checkpoint], protocols)  # the new checkpoint itself is fine
    with pytest.raises(ResultError, match="level2.tsv: was computed from another models/insta/checkpoint.pt than the "
                                          "one here"):
        verify_inputs([level], protocols)


def test_an_unsealed_input_is_set_aside(run):
    protocols, _, level = run
    seal_path(level).unlink()
    with pytest.raises(ResultError, match="level2.tsv: has no seal.*moved it to .*level2.tsv.unsealed"):
        verify_inputs([level], protocols)


def test_outputs_are_sealed_only_under_the_protocol_the_config_names(run):
    protocols, checkpoint, _ = run
    with pytest.raises(RuntimeError, match="another protocol than the params of rule train_fixed_sigma"):
        seal_outputs([checkpoint], protocols, {"model": "other"}, {}, "train_fixed_sigma")


def test_the_folder_check_reports_then_sets_aside(run):
    protocols, checkpoint, level = run
    layout = protocols.layout
    assert check_results(layout, act=True) == []  # negative control: what the workflow wrote passes
    Path(level).write_text(ROWS + ROWS.splitlines(keepends=True)[3])
    unsealed = Path(layout.table("table1", "md"))
    unsealed.parent.mkdir()
    unsealed.write_text("| a table from before seals |\n")
    for ignored in (layout.log("x.log"), f"{level}.partial", layout.benchmark("b.tsv"), layout.path("notes.txt")):
        Path(ignored).parent.mkdir(parents=True, exist_ok=True)
        Path(ignored).write_text("not a result\n")
    report = check_results(layout, act=False)
    assert [path for path, _ in report] == [level, str(unsealed)]
    assert report[0][1] == f"{level}: line 12: 1 line added (a copy of line 4); a run sets it aside and recomputes it"
    assert Path(level).exists() and unsealed.exists()  # only reported
    moved = check_results(layout, act=True)
    assert moved[1][1].startswith(f"{unsealed}: has no seal") and moved[1][1].endswith(
        f"moved it to {unsealed}.unsealed; this run recomputes it")
    assert not Path(level).exists() and Path(f"{level}.damaged").exists() and Path(checkpoint).exists()
    assert check_results(layout, act=True) == []


def test_a_directory_result_is_set_aside_whole(run):
    protocols, _, _ = run
    levels = Path(protocols.layout.training_levels("insta"))
    levels.mkdir()
    (levels / "epoch_1.tsv").write_text("idx\tlevel\n0\t1\n")
    seal_outputs([str(levels)], protocols, protocols.of(str(levels)), {}, "insta_stage1")
    (levels / "epoch_1.tsv").write_text("idx\tlevel\n0\t2\n")
    [(path, line)] = check_results(protocols.layout, act=True)
    assert path == str(levels) and "epoch_1.tsv: line 2 differs" in line
    assert not levels.exists() and (levels.parent / "levels.damaged" / "epoch_1.tsv").exists()
