"""The sequential-certification benchmark runs end to end on a tiny workload (a random-weight digits CNN
and the analytic classifier) and prints well-formed tables; its figures are measurements, not assertions."""

import re
import subprocess
import sys
from pathlib import Path

from insta_rs.models.architectures import build_model
from insta_rs.models.checkpoints import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
ROW = r"^\| {name} \| ([\d,]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+|nan) \| [\d,]+ \|(( [\d.]+ ± [\d.]+ \|){{10}})"


def test_sequential_benchmark_prints_its_tables(tmp_path):
    save_checkpoint(tmp_path / "cohen-0.25" / "checkpoint.pt", build_model("digits_cnn", 10, {"kind": "none"}),
                    "digits_cnn", 10, {"kind": "none"})
    command = [sys.executable, str(ROOT / "bench" / "sequential.py"), "--models-dir", str(tmp_path),
               "--models", "cohen-0.25", "absent", "--levels", "1", "16", "--n", "2000", "--n0", "20",
               "--examples", "6", "--analytic-examples", "6", "--extra-tolerances", "0.05", "--chunk", "4"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "absent/checkpoint.pt: skipped" in output
    for workload in ("cohen-0.25 at level 1", "analytic linear classifier"):
        table = output[output.index(f"### {workload}"):]
        fixed = re.search(ROW.format(name="fixed-N Cohen"), table, re.M)
        assert fixed and fixed.group(1) == "2,000" and fixed.group(2) == "1.000", table
        for name in ("sequential radius, relative tolerance 0.02", "sequential radius, relative tolerance 0.05",
                     "sequential decision"):
            row = re.search(ROW.format(name=re.escape(name)), table, re.M)
            assert row and 0 < float(row.group(2)) <= 1, (name, table)
        assert "Radius loss of 'sequential radius, relative tolerance 0.02'" in table
    analytic = output[output.index("### analytic"):output.index("### Targets")]
    assert re.search(ROW.format(name="fixed-N Cohen") + r" \d+ \|$", analytic, re.M)  # false certificates column
    targets = output[output.index("### Targets"):].splitlines()
    assert len([line for line in targets if line.startswith("| cohen-0.25") or line.startswith("| analytic")]) == 2


def test_sequential_rows_benchmark_prints_every_row_under_every_procedure(tmp_path):
    """bench/sequential_rows.py on random-weight digits CNNs (a classifier and a 5-candidate selector), N = 300:
    every row under every procedure with well-formed numbers, and the targets table."""
    models = tmp_path / "models" / "cohen-0.50"
    save_checkpoint(models / "checkpoint.pt", build_model("digits_cnn", 10, {"kind": "none"}), "digits_cnn", 10,
                    {"kind": "none"})
    save_checkpoint(models / "selector.pt", build_model("digits_cnn", 5, {"kind": "none"}), "digits_cnn", 5,
                    {"kind": "none"})
    command = [sys.executable, str(ROOT / "bench" / "sequential_rows.py"), "--models-dir", str(tmp_path / "models"),
               "--models", "cohen-0.50", "absent", "--out", str(tmp_path / "out"), "--n", "300", "--n0", "20",
               "--examples", "8"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "absent/selector.pt: skipped" in output
    table = output[output.index("### cohen-0.50, 8 test digits"):output.index("### Targets")]
    row = r"^\| {row} \| {procedure} \| [\d,]+ \| ([\d.]+) \| [\d.]+ \| ([\d.]+|nan) \|(( [\d.]+ ± [\d.]+ \|){{10}}) [\d.]+ \|$"
    for name in ("fixed sigma \\(level 4\\)", "oracle envelope, alpha/K", "cascade", "Dual RS"):
        for procedure in ("fixed-N", "sequential radius", "sequential radius 3%", "sequential decision"):
            match = re.search(row.format(row=name, procedure=procedure), table, re.M)
            assert match and 0 < float(match.group(1)) <= 1, (name, procedure, table)
    assert len([line for line in output[output.index("### Targets"):].splitlines()
                if line.startswith("| cohen-0.50 |")]) == 4 * 3  # every row under the three sequential procedures
