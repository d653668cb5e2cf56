"""The bill before the run (``snakemake cost``): calibrate every architecture the config uses on this machine,
then write ``results/<run>/cost.md`` (insta_rs.cost.bill) and print it."""

import torch

from insta_rs.cost.bill import render
from insta_rs.cost.calibrate import device_description, measure
from insta_rs.cost.passes import RunCost
from insta_rs.files import atomic_write_text
from insta_rs.layout import Layout
from insta_rs.runtime.device import gpu_visible
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_device
from insta_rs.workflow.plan import Plan


def main(snakemake, logger) -> None:
    config, params = snakemake.config, snakemake.params
    layout = Layout.of_run(config)
    cost = RunCost(Plan(config, layout))
    notes = []
    if params.device == "cuda" and not gpu_visible():  # torch-free: a GPU job claims its device before CUDA starts
        device = torch.device("cpu")
        notes.append("The config computes on cuda, but this machine shows no GPU: the calibration ran on the CPU, "
                     "so the measured device time is this CPU's. Run `snakemake cost` on the GPU machine for its own.")
    else:
        device = job_device(snakemake)
    budget_s = config["cost"]["calibration_s"]
    throughputs = {}
    for arch in cost.architectures():
        logger.info("calibrating %s on %s for about %g s", arch, device, budget_s)
        throughputs[arch] = measure(arch, cost.splits.shape, config["dataset"]["num_classes"],
                                    config["certify"]["batch_size"], device, params.precision, budget_s)
        logger.info("%s: %.0f forward passes/s at batch %d", arch, throughputs[arch].passes_per_s,
                    throughputs[arch].batch_size)
    text = render(cost, throughputs, device_description(device), budget_s, notes)
    atomic_write_text(layout.cost_report(), text)
    print(text, flush=True)


run_step(snakemake, main)  # noqa: F821
