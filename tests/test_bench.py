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
    assert re.search(r"bf16 against fp32 on digits_cnn \(random weights\).*changed for [\d.]+%", output), output
    assert "device-hours of the paper's tables: measure cifar_resnet110" in output  # no paper architecture measured
