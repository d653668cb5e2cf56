"""Train a fixed-sigma baseline (Cohen: gaussian, SmoothAdv, MACER); resumes an interrupted run."""

from insta_rs.training.stages import train_fixed_sigma
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    model, device = snakemake.params.model, job_device(snakemake)
    train_fixed_sigma(model["train"], f"models.{snakemake.wildcards.model}.train", model["arch"],
                      model["input_layer"], job_dataset(snakemake), snakemake.output.model, snakemake.output.history,
                      device, snakemake.params.precision,
                      num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)


run_step(snakemake, main)  # noqa: F821
