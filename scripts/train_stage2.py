"""Stage II: fine-tune a stage-I model (Insta-RS or PFAT) with each example's level fixed; resumes an
interrupted run."""

from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.training.stages import train_stage2
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    model, device = snakemake.params.model, job_device(snakemake)
    job = TrainingJob(model["arch"], model["input_layer"], f"models.{snakemake.wildcards.model}.train.stage2", device,
                      snakemake.params.precision, num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)
    train_stage2(model["method"], model["train"], job, job_dataset(snakemake), snakemake.params.noise,
                 snakemake.input.stage1, snakemake.input.get("levels"),
                 StageOutput(snakemake.output.model, history_path=snakemake.output.history))


run_step(snakemake, main)  # noqa: F821
