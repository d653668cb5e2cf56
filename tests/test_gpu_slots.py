"""GPU slots (insta_rs.runtime.gpu_slots): every GPU job on one machine gets a device of its own, tested without a GPU.

Claimants are separate processes, as workflow jobs are, over simulated devices (``INSTA_RS_SIMULATE_GPUS``) with a
lock directory of the test's own. Then a real workflow run of the tiny config under 3 simulated devices: every
GPU job names its device in its log, and the results are those of the run without simulated devices.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from tiny_workflow import copy_workdir, planned_jobs, snakemake

from insta_rs.runtime import gpu_slots
from insta_rs.runtime.device import device_kind
from insta_rs.workflow.job import job_device

CLAIMANT = """
import json, logging, os, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from insta_rs.runtime import gpu_slots
slot = gpu_slots.claim(poll_s=0.05, say_every_s=0.2)
print(json.dumps({"entry": slot and slot.entry, "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
                  "got": time.time()}), flush=True)
time.sleep(float(sys.argv[1]))
print(json.dumps({"released": time.time()}), flush=True)
"""


def environment(tmp_path: Path, simulated: int, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("CUDA_VISIBLE_DEVICES",
                                                                         *gpu_slots.SCHEDULER_JOB_ENVS)}
    return {**env, gpu_slots.SIMULATE_ENV: str(simulated), gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "slots"), **extra}


def start(env: dict[str, str], hold_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLAIMANT, str(hold_s)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def claimed(process: subprocess.Popen) -> dict:
    """The claimant's first line: the device it got (blocks until it has one)."""
    return json.loads(process.stdout.readline())


def finish(processes: list[subprocess.Popen]) -> list[dict]:
    """Each claimant's device, the times it held it, and what it logged."""
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        first, last = (json.loads(line) for line in out.splitlines())
        results.append({**first, **last, "log": err})
    return results


def test_seven_jobs_share_three_devices_one_job_per_device_at_a_time(tmp_path):
    results = finish([start(environment(tmp_path, 3), hold_s=1.5) for _ in range(7)])
    assert {result["entry"] for result in results} == {"0", "1", "2"}  # every job got a device, all were used
    for first in results:
        for second in results:
            if first is not second and first["entry"] == second["entry"]:  # one device: one holder at a time
                assert first["released"] <= second["got"] or second["released"] <= first["got"]
    moments = sorted(time for result in results for time in (result["got"], result["released"]))
    held = [sum(r["got"] <= moment < r["released"] for r in results) for moment in moments]
    assert max(held) == 3  # three at once, never more
    assert any("waiting for a free GPU" in result["log"] for result in results)  # seven jobs, three devices
    assert all(result["cuda_visible"] is None for result in results)  # a simulated device changes no variable


def test_a_killed_jobs_device_goes_to_the_next_job(tmp_path):
    env = environment(tmp_path, 3)
    holders = [start(env, hold_s=120) for _ in range(3)]
    try:
        entries = [claimed(holder)["entry"] for holder in holders]
        assert sorted(entries) == ["0", "1", "2"]
        waiting = start(env, hold_s=0)
        time.sleep(1.0)
        assert waiting.poll() is None  # every device is held
        os.kill(holders[1].pid, signal.SIGKILL)  # no clean-up runs: the kernel drops the lock with the process
        assert claimed(waiting)["entry"] == entries[1]
        assert "waiting for a free GPU" in waiting.communicate(timeout=60)[1]
        assert holders[0].poll() is None and holders[2].poll() is None
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()


def test_cuda_visible_devices_restricts_the_devices(tmp_path):
    results = finish([start(environment(tmp_path, 3, CUDA_VISIBLE_DEVICES="0,2"), hold_s=1.0) for _ in range(3)])
    assert {result["entry"] for result in results} == {"0", "2"}
    assert all(result["cuda_visible"] == "0,2" for result in results)  # simulated: left as it was
    assert gpu_slots.visible_devices({gpu_slots.SIMULATE_ENV: "3", "CUDA_VISIBLE_DEVICES": "GPU-a1, GPU-b2"}) == (
        "GPU-a1", "GPU-b2")
    for hidden in ("", "-1"):
        assert gpu_slots.visible_devices({gpu_slots.SIMULATE_ENV: "3", "CUDA_VISIBLE_DEVICES": hidden}) == ()
    assert gpu_slots.visible_devices({gpu_slots.SIMULATE_ENV: "3", "CUDA_VISIBLE_DEVICES": "1,-1,2"}) == ("1",)


def test_a_real_device_is_made_the_only_visible_one(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_slots, "installed_gpus", lambda *args: 2)
    env = {gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "real")}
    slot = gpu_slots.claim(env)
    assert (slot.entry, slot.simulated, env["CUDA_VISIBLE_DEVICES"]) == ("0", False, "0")
    assert gpu_slots.claim(env) == slot  # one claim per process
    assert gpu_slots.slot_count("cuda", env) == 1  # the variable now shows the claimed device only
    assert gpu_slots.slot_count("auto", {}) == 2 and gpu_slots.slot_count("cuda:1", {}) == 1


def test_without_a_gpu_nothing_changes(tmp_path, monkeypatch):
    empty = tmp_path / "gpus"
    empty.mkdir()
    assert gpu_slots.installed_gpus(empty, nvidia_smi=None) == 0
    (empty / "0000:3b:00.0").mkdir()
    (empty / "0000:5e:00.0").mkdir()
    assert gpu_slots.installed_gpus(empty, nvidia_smi=None) == 2
    fake_smi = tmp_path / "nvidia-smi"
    fake_smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-1)'\necho 'GPU 1: NVIDIA H100 (UUID: GPU-2)'\n")
    fake_smi.chmod(0o755)
    assert gpu_slots.installed_gpus(tmp_path / "absent", nvidia_smi=str(fake_smi)) == 2
    monkeypatch.setattr(gpu_slots, "installed_gpus", lambda *args: 0)
    env = {gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "none")}
    assert gpu_slots.claim(env) is None and env == {gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "none")}
    assert not (tmp_path / "none").exists()
    monkeypatch.setenv(gpu_slots.SIMULATE_ENV, "3")  # simulated GPUs do not make `auto` mean cuda
    assert device_kind("auto") == "cpu"


def test_locks_are_scoped_to_a_schedulers_allocation_and_to_the_simulation(tmp_path, monkeypatch):
    base = {gpu_slots.SLOTS_DIR_ENV: str(tmp_path)}
    assert gpu_slots.slots_directory(base) == tmp_path
    assert gpu_slots.slots_directory({**base, "SLURM_JOB_ID": "4711"}) == tmp_path / "slurm-4711"
    monkeypatch.setattr(gpu_slots, "installed_gpus", lambda *args: 8)  # a node's GPUs, the allocation's hidden
    allocation = {**base, "SLURM_JOB_ID": "4712"}
    assert gpu_slots.claim(allocation) is None and "CUDA_VISIBLE_DEVICES" not in allocation  # the scheduler's choice
    allocation["CUDA_VISIBLE_DEVICES"] = "0,1"  # a local run inside a two-GPU allocation spreads over its two
    assert gpu_slots.claim(allocation).lock_path == str(tmp_path / "slurm-4712" / "gpu-0.lock")
    assert gpu_slots.slots_directory({**base, gpu_slots.SIMULATE_ENV: "2"}) == tmp_path / "simulated"
    with pytest.raises(ValueError, match="number of simulated GPUs"):
        gpu_slots.simulated_count({gpu_slots.SIMULATE_ENV: "two"})


def test_a_job_given_a_gpu_claims_a_slot_and_logs_it(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(gpu_slots.SIMULATE_ENV, "2")
    monkeypatch.setenv(gpu_slots.SLOTS_DIR_ENV, str(tmp_path))
    job = SimpleNamespace(config={"device": "cpu"}, params=SimpleNamespace(device="cpu"), resources={"gpu": 1})
    with caplog.at_level("INFO", logger="insta_rs.workflow.job"):
        assert job_device(job).type == "cpu"
    assert "device: cpu, holding simulated GPU 0 (1 of the 2 visible: 0,1)" in caplog.text
    assert "the job computes on the cpu" in caplog.text
    assert (tmp_path / "simulated" / "gpu-0.lock").exists()


# -------------------------------------------------------------------------------- the workflow, simulated

REMADE = {"certify_levels": "certify/cohen-0.50/level{k}.tsv", "search_instance": "search/insta/{method}.tsv"}


def test_tiny_run_under_three_simulated_gpus_names_each_jobs_device_and_gives_the_same_results(tiny_run, tmp_path):
    """GPU jobs recomputed under ``INSTA_RS_SIMULATE_GPUS=3`` (a certification sweep and two searches, two at a
    time on 2 cores) each hold a simulated device, named in their logs, and write the same files as the tiny run
    without simulated devices (certifications apart from their ``time`` column)."""
    run = Path("results/tiny")
    checkout = copy_workdir(tiny_run, tmp_path / "checkout")
    remade = [run / REMADE["certify_levels"].format(k=k) for k in range(1, 5)]
    remade += [run / REMADE["search_instance"].format(method=method) for method in ("fgss", "grid")]
    env = {**os.environ, gpu_slots.SIMULATE_ENV: "3", gpu_slots.SLOTS_DIR_ENV: str(tmp_path / "slots")}
    assert planned_jobs(snakemake(checkout, None, "-n", env=env)) == {}  # the GPU a job gets is how: no rerun
    for path in remade:
        (checkout / path).unlink()
    process = snakemake(checkout, None, *map(str, remade), env=env)
    output = process.stdout + process.stderr
    assert re.search(r'Provided resources: gpu=(Resource\("gpu", )?3\b', output), output[-3000:]  # one per device
    logs = [checkout / run / "logs/certify/cohen-0.50/levels/1-of-1.log"]
    logs += [checkout / run / f"logs/search/insta/{method}/1-of-1.log" for method in ("fgss", "grid")]
    for log in logs:
        text = log.read_text()
        assert "holding simulated GPU" in text and "the job computes on the cpu" in text, log
    assert "holding" not in (tiny_run / run / "logs/certify/cohen-0.50/levels/1-of-1.log").read_text()
    for path in remade:
        if "certify" in str(path):
            original, again = (pd.read_csv(root / path, sep="\t").drop(columns="time") for root in (tiny_run, checkout))
            pd.testing.assert_frame_equal(original, again)
        else:
            assert (checkout / path).read_bytes() == (tiny_run / path).read_bytes(), path
