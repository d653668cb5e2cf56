"""The benchmark script runs end to end on a tiny workload and prints well-formed tables (its figures
are measurements, not test assertions)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_throughput_benchmark_prints_its_tables(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "throughput.py"), "--archs", "digits_cnn", "--batch-size", "500",
               "--samples", "1000", "--examples", "2", "--rounds", "2", "--threads", "1", "--check-bf16",
               "--checkpoint", str(tmp_path / "absent.pt")]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    row = re.search(r"^\| digits_cnn \| 500 \| ([\d,]+) \| ([\d,]+) \| ([\d.]+) \| ([\d,]+) \| ([\d.]+)x \|$", output, re.M)
    assert row, output
    bare, certify, ratio = (float(row.group(k).replace(",", "")) for k in (1, 2, 3))
    assert bare > 0 and certify > 0 and 0 < ratio < 3
    assert re.search(r"bf16 against fp32 on digits_cnn \(random weights\).*changed for [\d.]+%.*largest [\d.]+$",
                     output, re.M), output
    assert "snakemake cost --configfile" in output  # the device-hours of a config: one place computes them


def test_gpu_check_runs_its_every_check_in_the_reduced_cpu_mode(tmp_path):
    """bench/gpu_check.py --quick on the CPU: the workflow (one model, 2 simulated GPUs), throughput of both paper
    architectures in fp32 and bf16, fp32-bf16 agreement and sequential against fixed-N, one table, no FAIL."""
    command = [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--quick", "--device", "cpu",
               "--workdir", str(tmp_path / "work"), "--output", str(tmp_path / "table.md")]
    process = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    rows = re.findall(r"^\| (\w+) \| (.*?) \| (.*?) \| (PASS|FAIL|measured) \|$", process.stdout, re.M)
    assert [row[0] for row in rows] == ["workflow", "devices"] + ["throughput"] * 4 + ["precision"] * 2 + ["sequential"]
    assert all(status != "FAIL" for *_, status in rows)
    assert re.match(r"\d+ of \d+ jobs passed", rows[0][2]) and "never two on one device" in rows[1][2]
    assert {row[1].split(",")[0] for row in rows[2:6]} == {"cifar_resnet110", "resnet50"}
    assert all(re.search(r"equal certified predictions [\d.]+%, largest radius difference [\d.]+", row[2])
               for row in rows[6:8])
    assert (tmp_path / "table.md").read_text() in process.stdout
