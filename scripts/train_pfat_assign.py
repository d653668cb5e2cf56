"""PFAT: assign each training example the level with the largest label-based CR_hat among the levels it
is predicted correctly at (grid search over all levels), timed."""

from insta_rs.training.stage_run import TrainingJob
from insta_rs.training.stages import assign_pfat_levels
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    params = snakemake.params
    job = TrainingJob(params.model["arch"], params.model["input_layer"],
                      f"models.{snakemake.wildcards.model}.train.stage1", job_device(snakemake), params.precision)
    assign_pfat_levels(snakemake.input.model, params.model["train"], job, job_dataset(snakemake), params.noise,
                       snakemake.output.levels, snakemake.output.timing)


run_step(snakemake, main)  # noqa: F821
