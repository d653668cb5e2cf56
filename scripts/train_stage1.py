"""Stage I of Insta-RS Train (Algorithm 2, per-example levels updated every L epochs) or of PFAT
(random levels); resumes an interrupted run."""

from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.training.stages import train_stage1
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    model, output, device = snakemake.params.model, snakemake.output, job_device(snakemake)
    job = TrainingJob(model["arch"], model["input_layer"], f"models.{snakemake.wildcards.model}.train.stage1", device,
                      snakemake.params.precision, num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)
    train_stage1(model["method"], model["train"], job, job_dataset(snakemake), snakemake.params.noise,
                 StageOutput(output.model, output.get("levels"), output.history), out_timing=output.get("timing"))


run_step(snakemake, main)  # noqa: F821
