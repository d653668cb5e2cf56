"""The GPU check: everything the GPU path changes, in one command of at most 10 minutes, printed as one table.

    python bench/gpu_check.py                          # on a machine with a GPU
    python bench/gpu_check.py --quick --device cpu     # the same code paths, reduced, on a CPU (tests/test_bench.py)

1. workflow: the tiny config (.test/config/config.yaml) end to end with ``device: cuda``, Snakemake as a
   subprocess in a temporary directory with every core: every job passes and the tables are written; the devices
   the GPU jobs held (their logs) and how many ran at once, never two on one device (with more than one GPU it
   shows every GPU busy). --quick: one model's training and certification, on 2 simulated GPUs.
2. throughput: the certification engine against bare forward passes (bench/throughput.py's alternating rounds)
   for ResNet-110 on 32x32 and ResNet-50 on 224x224 inputs, at the paper configs' certify.batch_size, fp32 and
   bf16 (--quick: small batches and inputs).
3. precision: certificates in fp32 and bf16 on the same noise, sigma 0.5: the fraction of equal certified
   predictions and the largest radius difference, on the tiny run's trained digits model and on a ResNet-110 with
   random weights.
4. sequential: wall time of the sequential procedure (radius mode) against fixed-N CERTIFY on the tiny run's
   model, with the fraction of the cap's samples it used.

A check that raises is a FAIL row with its error, and the exit status is 1; measured rows say "measured".
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import yaml
from throughput import alternating_rounds, bare_throughput, certify_throughput, precision_agreement

from insta_rs.certification.procedures import Cohen, Sequential
from insta_rs.certification.smoothing import Smoother
from insta_rs.data.datasets import test_tensors
from insta_rs.layout import Layout
from insta_rs.models.architectures import build_model
from insta_rs.models.checkpoints import load_model
from insta_rs.runtime.device import autocast_dtype, resolve_device, tune_for_throughput
from insta_rs.runtime.gpu_slots import SIMULATE_ENV, SLOTS_DIR_ENV
from insta_rs.workflow.config_check import check_config, load_yaml, merge
from insta_rs.workflow.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / ".test" / "config" / "config.yaml"
PAPER = {"cifar_resnet110": ("paper-cifar10.yaml", (3, 32, 32)), "resnet50": ("paper-imagenet.yaml", (3, 224, 224))}
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.M)
HOLDING = re.compile(r"holding (?:simulated )?GPU (\S+) \(")


class Report:
    """The rows of the table: check, setting, result, status."""

    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []

    def run(self, check: str, setting: str, measure: Callable[[], tuple[str, str]]) -> None:
        """Add the row of ``measure`` (result, status); an exception becomes a FAIL row naming it."""
        start = time.perf_counter()
        try:
            result, status = measure()
        except Exception as error:  # noqa: BLE001 - every check reports, none stops the others
            traceback.print_exc(file=sys.stderr)
            result, status = f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}", "FAIL"
        self.rows.append((check, setting, f"{result} [{time.perf_counter() - start:.0f} s]", status))

    def table(self) -> str:
        lines = ["| check | setting | result | status |", "|---|---|---|---|"]
        return "\n".join(lines + [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in self.rows])


# ------------------------------------------------------------------------------------------------ workflow

def run_workflow(workdir: Path, device: str, quick: bool) -> tuple[str, str]:
    """The tiny config through Snakemake in ``workdir`` (tables in --quick: one model's certifications)."""
    overlay = workdir / "device.yaml"
    overlay.write_text(yaml.safe_dump({"device": device}))
    targets = [f"results/tiny/certify/cohen-0.50/level{k}.tsv" for k in (1, 4)] if quick else []
    env = {**os.environ, SLOTS_DIR_ENV: str(workdir / "gpu-slots")} | ({SIMULATE_ENV: "2"} if quick else {})
    cores = 2 if quick else os.cpu_count()
    command = [str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(workdir), "--cores", str(cores), *targets, "--configfile", str(TINY), str(overlay)]
    start = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, timeout=540, env=env)
    (workdir / "snakemake.log").write_text(process.stdout + process.stderr)
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", process.stdout + process.stderr)
    if process.returncode != 0 or not done:
        tail = (process.stdout + process.stderr).strip().splitlines()[-3:]
        return f"Snakemake exited {process.returncode} (log {workdir / 'snakemake.log'}): {' / '.join(tail)}", "FAIL"
    config = check_config(merge(load_yaml(TINY), {"device": device}), local_files=False)
    wanted = [] if quick else Plan(config, Layout.of_run(config)).final_targets()  # every table, figure, certificate
    missing = [target for target in wanted if not (workdir / target).exists()]
    if missing:
        return f"{done[-1][0]} jobs passed, but {len(missing)} targets are missing: {', '.join(missing[:3])}", "FAIL"
    tables = len(list((workdir / "results" / "tiny" / "tables").glob("*.md")))
    written = "one model trained and certified" if quick else f"{tables} tables, all {len(wanted)} targets written"
    return (f"{done[-1][0]} of {done[-1][1]} jobs passed in {time.perf_counter() - start:.0f} s, {cores} cores; "
            f"{written}", "PASS")


def log_span(text: str) -> tuple[float, float]:
    """First and last timestamps of a job's log, in seconds."""
    stamps = [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp() for stamp in LOG_TIME.findall(text)]
    return min(stamps), max(stamps)


def devices_used(workdir: Path) -> tuple[str, str]:
    """Which device each GPU job held (its log), how many held one at once, and whether two ever shared one."""
    held = []
    for log in (workdir / "results" / "tiny" / "logs").rglob("*.log"):
        text = log.read_text(errors="replace")
        match = HOLDING.search(text)
        if match:
            held.append((match[1], *log_span(text)))
    if not held:
        return "no job log names a GPU it held", "FAIL"
    moments = sorted(moment for _, start, end in held for moment in (start, end))
    at_once = max(sum(start <= moment < end for _, start, end in held) for moment in moments)
    shared = any(a[0] == b[0] and a[1] < b[2] and b[1] < a[2] for a in held for b in held if a is not b)
    jobs = {entry: sum(1 for held_entry, *_ in held if held_entry == entry) for entry in sorted({h[0] for h in held})}
    result = (f"{len(held)} GPU jobs; jobs per device: {', '.join(f'{e}: {n}' for e, n in jobs.items())}; "
              f"at most {at_once} at once; {'two jobs shared a device' if shared else 'never two on one device'}")
    return result, "FAIL" if shared else "PASS"


# ------------------------------------------------------------------------------------------------ compute

def engine_throughput(arch: str, shape: tuple, batch: int, precision: str, device: torch.device,
                      quick: bool) -> tuple[str, str]:
    """Bare forward passes and the certification engine, medians of alternating rounds (bench/throughput.py)."""
    dtype = autocast_dtype(precision)
    model = tune_for_throughput(build_model(arch, 10, {"kind": "none"}).eval().to(device), device)
    smoother = Smoother(model, 10, batch, device, dtype)
    samples, examples, rounds = (2 * batch, 1, 1) if quick else (10 * batch, 2, 3)
    measures = [lambda: bare_throughput(model, shape, batch, device, dtype, max(3, samples * examples // batch)),
                lambda: certify_throughput(smoother, shape, samples, examples)]
    measured = alternating_rounds(measures, rounds)
    bare, certify = np.median(measured, axis=0)
    ratio = np.median(measured[:, 1] / measured[:, 0])
    return f"bare {bare:,.0f}/s, certification {certify:,.0f}/s, ratio {ratio:.3f}", "measured"


def agreement(model: torch.nn.Module, x: torch.Tensor, device: torch.device, n: int, batch: int) -> tuple[str, str]:
    changed, _, _, largest = precision_agreement(model, x, device, n, batch)
    return f"equal certified predictions {1 - changed:.1%}, largest radius difference {largest:.4f}", "measured"


def sequential_against_fixed(model: torch.nn.Module, digits: dict, device: torch.device, n: int,
                             batch: int) -> tuple[str, str]:
    """Wall time of fixed-N CERTIFY and the sequential procedure (radius mode) on the same examples and seed, the
    fraction of the cap's estimation samples it used and its ACR against fixed-N's."""
    x, labels, idx = test_tensors(digits)
    smoother, sigma = Smoother(model, 10, batch, device), np.full(len(x), 0.5)
    runs = {}
    for name, procedure in (("fixed-N", Cohen()), ("sequential", Sequential())):
        start = time.perf_counter()
        certificates = procedure.certify(smoother, x, sigma, idx.numpy(), 100, n, 0.001, 0)
        acr = float(np.mean(np.where(certificates.predict == labels.numpy(), certificates.radius, 0.0)))
        runs[name] = (time.perf_counter() - start, certificates, acr)
    (fixed_s, _, fixed_acr), (seq_s, seq, seq_acr) = runs["fixed-N"], runs["sequential"]
    return (f"fixed-N {fixed_s:.1f} s, sequential {seq_s:.1f} s ({seq_s / fixed_s:.2f}x); it used "
            f"{seq.n_used.mean() / n:.3f} of the cap's samples, ACR {seq_acr:.3f} against {fixed_acr:.3f}", "measured")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, 2 simulated GPUs: a CPU smoke run")
    parser.add_argument("--workdir", default=None, help="where the workflow runs (default: a temporary directory)")
    parser.add_argument("--output", default=None, help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    device, quick = resolve_device(args.device), args.quick
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="insta-rs-gpu-check-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report()
    report.run("workflow", f"tiny config, device: {device.type}" + (" (--quick)" if quick else ""),
               lambda: run_workflow(workdir, device.type, quick))
    report.run("devices", "the workflow's GPU jobs" + (" (2 simulated GPUs)" if quick else ""),
               lambda: devices_used(workdir))
    for arch, (config, shape) in PAPER.items():
        batch = 8 if quick else load_yaml(ROOT / "config" / config)["certify"]["batch_size"]
        shape = (3, 32, 32) if quick else shape
        for precision in ("fp32", "bf16"):
            report.run("throughput", f"{arch}, {'x'.join(map(str, shape))}, batch {batch}, {precision}",
                       lambda: engine_throughput(arch, shape, batch, precision, device, quick))
    checkpoint = workdir / "results" / "tiny" / "models" / "cohen-0.50" / "checkpoint.pt"
    digits = {"name": "digits", "num_classes": 10, "test_subset": {"all": True, "limit": 20 if quick else 100}}
    n_agree, n_sequential = (500, 2_000) if quick else (10_000, 100_000)
    report.run("precision", f"tiny run's digits model, {digits['test_subset']['limit']} test digits, N = {n_agree:,}",
               lambda: agreement(load_model(checkpoint, device), test_tensors(digits)[0], device, n_agree, 4000))
    random_arch, inputs = ("cifar_resnet20", 4) if quick else ("cifar_resnet110", 100)
    report.run("precision", f"{random_arch}, random weights, {inputs} random 32x32 inputs, N = {n_agree // 5:,}",
               lambda: agreement(build_model(random_arch, 10, {"kind": "none"}).eval(), torch.rand(inputs, 3, 32, 32),
                                 device, n_agree // 5, 1000))
    report.run("sequential", f"tiny run's digits model, {digits['test_subset']['limit']} test digits, "
                             f"N = {n_sequential:,}, sigma 0.5",
               lambda: sequential_against_fixed(load_model(checkpoint, device), digits, device, n_sequential, 4000))
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if device.type == "cuda" else []
    header = (f"GPU check, {datetime.now():%Y-%m-%d %H:%M}: device {device.type}"
              f"{' (' + ', '.join(names) + ')' if names else ''}, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}; workflow in {workdir}\n")
    text = header + "\n" + report.table() + "\n"
    print(text, flush=True)
    if args.output:
        Path(args.output).write_text(text)
    return int(any(row[3] == "FAIL" for row in report.rows))


if __name__ == "__main__":
    sys.exit(main())
