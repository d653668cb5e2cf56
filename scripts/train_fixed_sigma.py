"""Train a fixed-sigma baseline (Cohen: gaussian, SmoothAdv, MACER); resumes an interrupted run."""

from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.training.stages import train_fixed_sigma
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    model, device = snakemake.params.model, job_device(snakemake)
    job = TrainingJob(model["arch"], model["input_layer"], f"models.{snakemake.wildcards.model}.train", device,
                      snakemake.params.precision, num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)
    train_fixed_sigma(model["train"], job, job_dataset(snakemake),
                      StageOutput(snakemake.output.model, history_path=snakemake.output.history))


run_step(snakemake, main)  # noqa: F821
