import logging

import numpy as np
import pytest

from insta_rs.certification.procedures import Cohen, Sequential
from insta_rs.certification.records import CERTIFY_COLUMNS, read_certification, row_problem, write_certification_rows
from insta_rs.certification.runner import CertifySettings, certify_to_tsv
from insta_rs.certification.sequential_settings import SequentialSettings
from insta_rs.certification.smoothing import Smoother
from insta_rs.files import merge_tsvs


def run(model, x, path, batch_size=1000, chunk=4, positions=None, record_time=False, procedure=Cohen()):
    positions = np.arange(len(x)) if positions is None else positions
    labels = np.zeros(len(x), dtype=int)
    idx = np.arange(10, 10 + len(x))
    sigma = np.linspace(0.25, 1.0, len(x))
    settings = CertifySettings(n0=50, n=500, alpha=0.001, seed=3, procedure=procedure, record_time=record_time)
    certify_to_tsv(Smoother(model, 2, batch_size), x[positions], labels[positions], idx[positions],
                   sigma[positions], path, settings, examples_per_chunk=chunk)


def with_field(line: str, column: str, value: str) -> str:
    """A TSV row with one column replaced."""
    fields = line.rstrip("\n").split("\t")
    fields[CERTIFY_COLUMNS.index(column)] = value
    return "\t".join(fields) + "\n"


def test_same_bytes_for_every_batch_size_and_chunking(linear_model, linear_inputs, tmp_path):
    run(linear_model, linear_inputs[:12], tmp_path / "a.tsv", batch_size=4096, chunk=12)
    run(linear_model, linear_inputs[:12], tmp_path / "b.tsv", batch_size=97, chunk=1)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    frame = read_certification(tmp_path / "a.tsv")
    assert frame["idx"].tolist() == list(range(10, 22))
    assert set(frame.columns) >= {"sigma", "pA_lower", "c_hat", "nA", "nB", "n0A", "n0", "n", "alpha", "seed"}
    assert (frame["nA"] + frame["nB"] <= frame["n"]).all()


def test_shards_merge_to_the_unsharded_file(linear_model, linear_inputs, tmp_path):
    x = linear_inputs[:10]
    run(linear_model, x, tmp_path / "whole.tsv")
    parts = []
    for k, positions in enumerate(np.array_split(np.arange(10), 3)):
        parts.append(tmp_path / f"part{k}.tsv")
        run(linear_model, x, parts[-1], positions=positions)
    merge_tsvs(parts, tmp_path / "merged.tsv")
    assert (tmp_path / "merged.tsv").read_bytes() == (tmp_path / "whole.tsv").read_bytes()


def test_resume_keeps_valid_rows_and_redoes_corrupt_ones(linear_model, linear_inputs, tmp_path, monkeypatch):
    x = linear_inputs[:8]
    run(linear_model, x, tmp_path / "reference.tsv")
    reference = (tmp_path / "reference.tsv").read_text().splitlines(keepends=True)
    header, rows = reference[0], reference[1:]
    partial = tmp_path / "out.tsv.partial"
    stale = with_field(rows[4], "seed", "99")  # another seed: must be redone
    partial.write_text(header + rows[0] + rows[2] + rows[2] + "garbage line\n" + stale + rows[5][:9])

    certified = []
    original = Smoother.certify

    def counting(self, x, *args, **kwargs):
        certified.append(len(x))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Smoother, "certify", counting)
    run(linear_model, x, tmp_path / "out.tsv")
    assert sum(certified) == 6  # rows 0 and 2 were kept; 1, 3, 4 (stale), 5 (cut), 6, 7 redone
    assert (tmp_path / "out.tsv").read_text() == "".join(reference)
    assert not partial.exists()


def test_sequential_resume_keeps_only_rows_of_the_same_procedure(linear_model, linear_inputs, tmp_path, monkeypatch):
    """An interrupted sequential run resumes to the same bytes as an uninterrupted one; rows certified
    with another procedure (fixed N, or another tolerance) are redone."""
    x = linear_inputs[:8]
    sequential = Sequential(SequentialSettings(tolerance=0.05))
    run(linear_model, x, tmp_path / "reference.tsv", procedure=sequential, chunk=3)
    frame = read_certification(tmp_path / "reference.tsv")
    assert (frame["procedure"] == sequential.label).all() and (frame["n_used"] <= frame["n"]).all()
    assert frame["n_used"].min() < 500
    run(linear_model, x, tmp_path / "cohen.tsv")
    reference = (tmp_path / "reference.tsv").read_text().splitlines(keepends=True)
    header, rows = reference[0], reference[1:]
    cohen_rows = (tmp_path / "cohen.tsv").read_text().splitlines(keepends=True)[1:]
    other_tolerance = with_field(rows[4], "procedure", Sequential().label)
    partial = header + rows[0] + rows[2] + cohen_rows[3] + other_tolerance + rows[5][:9]
    (tmp_path / "out.tsv.partial").write_text(partial)

    certified = []
    original = Smoother.certify_sequential

    def counting(self, x, *args, **kwargs):
        certified.append(len(x))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Smoother, "certify_sequential", counting)
    run(linear_model, x, tmp_path / "out.tsv", procedure=sequential, batch_size=333, chunk=2)
    assert sum(certified) == 6  # rows 0 and 2 kept; 3 (fixed N), 4 (other tolerance), 5 (cut), 1, 6, 7 redone
    assert (tmp_path / "out.tsv").read_text() == "".join(reference)


def test_merge_rejects_mismatched_headers(tmp_path):
    (tmp_path / "a.tsv").write_text("idx\tlabel\n")
    (tmp_path / "b.tsv").write_text("idx\tother\n")
    with pytest.raises(ValueError, match="header differs"):
        merge_tsvs([tmp_path / "a.tsv", tmp_path / "b.tsv"], tmp_path / "out.tsv")


DAMAGES = {  # one damaged copy of row 3 (its index in the file: line 5) in a partial file: dropped and redone
    "binary bytes": lambda row: row.encode()[:20] + b"\xff\xfe\x00\x81\n",
    "predict is not a number": lambda row: with_field(row, "predict", "x").encode(),
    "predict not a class": lambda row: with_field(row, "predict", "7").encode(),
    "pA_lower above 1": lambda row: with_field(row, "pA_lower", "1.500000").encode(),
    "radius not sigma * PhiInv(pA_lower)": lambda row: with_field(
        row, "radius", f"{2 * float(row.split(chr(9))[CERTIFY_COLUMNS.index('radius')]) + 0.1:.6f}").encode(),
    "counts beyond N": lambda row: with_field(row, "nA", "501").encode(),
    "correct disagrees": lambda row: with_field(row, "correct", str(1 - int(row.split(chr(9))[4]))).encode(),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES)
def test_a_damaged_row_is_dropped_named_and_redone(linear_model, linear_inputs, tmp_path, caplog, damage):
    x = linear_inputs[:6]
    run(linear_model, x, tmp_path / "reference.tsv")
    reference = (tmp_path / "reference.tsv").read_text().splitlines(keepends=True)
    partial = tmp_path / "out.tsv.partial"
    partial.write_bytes("".join(reference[:4]).encode() + damage(reference[4]))
    with caplog.at_level(logging.WARNING):
        run(linear_model, x, tmp_path / "out.tsv")
    assert (tmp_path / "out.tsv").read_bytes() == (tmp_path / "reference.tsv").read_bytes()
    assert f"{partial}: dropped 1 rows (line 5:" in caplog.text


def test_a_partial_that_is_not_ours_is_set_aside_and_redone(linear_model, linear_inputs, tmp_path, caplog):
    x = linear_inputs[:4]
    run(linear_model, x, tmp_path / "reference.tsv")
    partial = tmp_path / "out.tsv.partial"
    partial.write_bytes(b"\x00\x01 not a header\n" + bytes(range(256)))
    with caplog.at_level(logging.WARNING):
        run(linear_model, x, tmp_path / "out.tsv")
    assert (tmp_path / "out.tsv").read_bytes() == (tmp_path / "reference.tsv").read_bytes()
    aside = tmp_path / "out.tsv.partial.damaged"
    assert aside.read_bytes().startswith(b"\x00\x01 not a header")  # kept, not deleted
    assert f"moved it to {aside}" in caplog.text


def test_readers_name_the_file_and_line_of_a_bad_value(linear_model, linear_inputs, tmp_path):
    run(linear_model, linear_inputs[:3], tmp_path / "ok.tsv")
    lines = (tmp_path / "ok.tsv").read_text().splitlines(keepends=True)
    (tmp_path / "bad.tsv").write_text("".join(lines[:2]) + with_field(lines[2], "predict", "x") + lines[3])
    with pytest.raises(ValueError, match=r"bad.tsv, line 3: predict = 'x' is not a valid value"):
        read_certification(tmp_path / "bad.tsv")


def test_a_bad_final_row_is_never_written(tmp_path):
    good = "10\t0\t0\t0.500000\t1\t0.0000\t0.500000\t0.841345\t0\t500\t0\t50\t50\t500\t0.001\t3\t500\tcohen\n"
    assert row_problem(good.rstrip("\n").split("\t"), 2, cohen_radius=True) is None
    bad = with_field(good, "radius", "0.900000")
    with pytest.raises(ValueError, match=r"out.tsv, line 3: radius 0.9 exceeds"):
        write_certification_rows(tmp_path / "out.tsv", [good, bad], 2, cohen_radius=True)
    assert not (tmp_path / "out.tsv").exists()
