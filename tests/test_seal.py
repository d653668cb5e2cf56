"""Tests for insta_rs.workflow.seal: a seal records what was written, and every kind of later change is found and described
(negative controls: the untouched file passes, each damage is caught)."""

import json
import os

import pytest

from insta_rs.files import set_aside
from insta_rs.workflow import seal

ROWS = "idx\tlabel\tpredict\tradius\n" + "".join(f"{i}\t{i % 10}\t{i % 10}\t0.{i:03d}\n" for i in range(20))


@pytest.fixture
def sealed(tmp_path):
    """A sealed certification-like TSV, its name in the run, and a function that reports its damage."""
    path = tmp_path / "level2.tsv"
    path.write_text(ROWS)
    seal.write_seal(path, "certify/m/level2.tsv", {"certify": {"n": 200}}, "0123456789ab", {"models/m/checkpoint.pt":
                                                                                          "f" * 64})
    return path, lambda: seal.damage(path, seal.read_seal(path), "certify/m/level2.tsv")


def rewrite_lines(path, change):
    lines = path.read_text().split("\n")
    path.write_text("\n".join(change(lines)))


DAMAGES = {  # what a user, a disk or a copy does to a finished file, and how the check names it
    "edited value in range": (lambda p: p.write_text(ROWS.replace("\t0.007\n", "\t0.008\n")),
                              "line 9 differs from what the workflow wrote"),
    "removed rows": (lambda p: rewrite_lines(p, lambda lines: lines[:4] + lines[6:]), "lines 5-6 removed"),
    "duplicated row": (lambda p: rewrite_lines(p, lambda lines: lines[:4] + [lines[3]] + lines[4:]),
                       "line 5: 1 line added (a copy of line 4)"),
    "appended row": (lambda p: p.write_text(ROWS + "99\t1\t1\t0.5\n"), "line 22: 1 line added (not written"),
    "truncated mid-line": (lambda p: p.write_bytes(p.read_bytes()[:100]), "cut short (the file was truncated"),
    "truncated at a line end": (lambda p: p.write_text(ROWS[:ROWS.index("\n5\t") + 1]), "lines 7-21 removed"),
    "random bytes": (lambda p: p.write_bytes(p.read_bytes()[:60] + bytes([0xf7, 0x00, 0x9c]) + p.read_bytes()[63:]),
                     "line 4 differs from what the workflow wrote (it is not text)"),
    "emptied": (lambda p: p.write_text(""), "lines 1-21 removed"),
}


@pytest.mark.parametrize("damage, named", DAMAGES.values(), ids=DAMAGES)
def test_every_damage_of_a_text_result_is_found_and_located(sealed, damage, named):
    path, check = sealed
    assert check() is None  # negative control: the file as written passes
    damage(path)
    assert named in check()


def test_the_same_bytes_rewritten_pass(sealed):
    path, check = sealed
    path.write_text(ROWS)
    os.utime(path, (0, 0))  # another time: only the content counts
    assert check() is None


def test_a_result_copied_to_another_name_is_found(sealed, tmp_path):
    path, _ = sealed
    copy = tmp_path / "level3.tsv"
    copy.write_bytes(path.read_bytes())
    seal.seal_path(copy).write_bytes(seal.seal_path(path).read_bytes())
    assert seal.damage(copy, seal.read_seal(copy), "certify/m/level3.tsv") == \
        "is a copy of certify/m/level2.tsv, not the result written here"


def test_binary_results_are_checked_whole(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(bytes(range(256)) * 40)
    seal.write_seal(path, "models/m/checkpoint.pt", {}, "0" * 12, {})
    record = seal.read_seal(path)
    assert record["lines"] is None and record["size"] == 10240
    assert seal.damage(path, record, "models/m/checkpoint.pt") is None
    data = bytearray(path.read_bytes())
    data[5000] ^= 1  # one bit
    path.write_bytes(bytes(data))
    assert "is not what the workflow wrote (10240 bytes" in seal.damage(path, record, "models/m/checkpoint.pt")


def test_a_directory_result_is_sealed_as_a_whole(tmp_path):
    levels = tmp_path / "levels"
    levels.mkdir()
    for epoch in (1, 2):
        (levels / f"epoch_{epoch}.tsv").write_text(f"idx\tlevel\n0\t{epoch}\n")
    seal.write_seal(levels, "models/m/levels", {}, "0" * 12, {})
    record = seal.read_seal(levels)

    def check():
        return seal.damage(levels, record, "models/m/levels")

    assert set(record["files"]) == {"epoch_1.tsv", "epoch_2.tsv"} and check() is None
    (levels / ".snakemake_timestamp").touch()  # Snakemake marks a directory output after the job
    assert check() is None
    (levels / "epoch_2.tsv").write_text("idx\tlevel\n0\t3\n")
    assert check() == "epoch_2.tsv: line 2 differs from what the workflow wrote"
    (levels / "epoch_2.tsv").unlink()
    assert check() == "lacks epoch_2.tsv"
    (levels / "epoch_2.tsv").write_text("idx\tlevel\n0\t2\n")
    (levels / "epoch_3.tsv").write_text("idx\tlevel\n")
    assert check() == "holds files the workflow did not write: epoch_3.tsv"


def test_the_seal_records_protocol_and_inputs(sealed):
    path, _ = sealed
    record = json.loads(seal.seal_path(path).read_text())
    assert record["protocol"] == {"certify": {"n": 200}} and record["protocol_key"] == "0123456789ab"
    assert record["inputs"] == {"models/m/checkpoint.pt": "f" * 64} and record["name"] == "certify/m/level2.tsv"
    assert len(record["lines"]) == 22  # 21 lines and what follows the last newline


def test_a_damaged_seal_is_an_error_and_a_missing_one_is_none(sealed, tmp_path):
    path, _ = sealed
    seal.seal_path(path).write_bytes(b"\xf7\x00 not json")
    with pytest.raises(seal.SealError, match="level2.tsv.seal is damaged"):
        seal.read_seal(path)
    assert seal.read_seal(tmp_path / "absent.tsv") is None


def test_set_aside_moves_the_file_with_its_seal(sealed):
    path, _ = sealed
    first = set_aside(path, "test", "damaged")
    assert first.name == "level2.tsv.damaged" and (first.parent / "level2.tsv.damaged.seal").exists()
    path.write_text(ROWS)
    second = set_aside(path, "test", "damaged")
    assert second.name == "level2.tsv.damaged1" and not seal.seal_path(path).exists()
    assert first.read_text() == ROWS  # nothing is deleted
