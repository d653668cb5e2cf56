import os

import pytest

from insta_rs.analysis import bonferroni_frame
from insta_rs.certification.records import parse_time, read_certification
from insta_rs.certification.stats import pA_lower_bound
from insta_rs.files import atomic_write

COHEN = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t3\t3\t0.537\t1\t0:02:32.717239\n20\t8\t-1\t0.0\t0\t0:00:15.1\n"
SMOOTHADV = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t3\t3\t0.5371\t1\t15.2031\n"


def test_reads_cohen_and_smoothadv_files(tmp_path):
    (tmp_path / "cohen.tsv").write_text(COHEN)
    (tmp_path / "smoothadv.tsv").write_text(SMOOTHADV)
    cohen = read_certification(tmp_path / "cohen.tsv")
    assert cohen["time"].tolist() == pytest.approx([152.717239, 15.1])
    assert cohen["predict"].tolist() == [3, -1] and cohen["radius"].tolist() == [0.537, 0.0]
    assert read_certification(tmp_path / "smoothadv.tsv")["time"].iloc[0] == pytest.approx(15.2031)


def test_files_without_a_procedure_are_fixed_n_and_each_procedure_recomputes_its_own_bound(tmp_path):
    (tmp_path / "cohen.tsv").write_text(COHEN)
    assert read_certification(tmp_path / "cohen.tsv")["procedure"].tolist() == ["cohen", "cohen"]
    ours = ("idx\tlabel\tpredict\tradius\tcorrect\ttime\tsigma\tnA\tn\talpha\n"
            "0\t3\t3\t0.5\t1\t1.0\t0.5\t990\t1000\t0.001\n")
    (tmp_path / "ours.tsv").write_text(ours)
    frame = read_certification(tmp_path / "ours.tsv")
    assert frame["n_used"].tolist() == [1000]
    fixed = bonferroni_frame(frame, 4)
    assert fixed["alpha"].iloc[0] == pytest.approx(0.00025)
    assert fixed["pA_lower"].iloc[0] == pytest.approx(pA_lower_bound(990, 1000, 0.00025), rel=1e-12)
    # a sequential certification that stopped at the cap (N = 1000): the cap round's level, half of alpha, scaled
    frame["procedure"] = "sequential:radius:rel0.02:100x1.25:cap0.5"
    sequential = bonferroni_frame(frame, 4)
    assert sequential["pA_lower"].iloc[0] == pytest.approx(pA_lower_bound(990, 1000, 0.0005 / 4), rel=1e-12)
    frame["n_used"] = 999  # no round ends there: not made by this procedure
    with pytest.raises(ValueError, match="n_used \\[999\\] is not a round end"):
        bonferroni_frame(frame, 4)


def test_parse_time_with_days():
    assert parse_time("1 day, 0:00:01.5") == pytest.approx(86401.5)


def test_read_rejects_other_files(tmp_path):
    (tmp_path / "bad.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_certification(tmp_path / "bad.tsv")
    with pytest.raises(FileNotFoundError, match="run the workflow"):
        read_certification(tmp_path / "absent.tsv")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("interrupted")
    assert not target.exists() and os.listdir(tmp_path) == []
    with atomic_write(target) as handle:
        handle.write("whole")
    assert target.read_text() == "whole"
