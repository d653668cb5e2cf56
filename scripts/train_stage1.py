"""Stage I of Insta-RS Train (Algorithm 2, per-example levels updated every L epochs) or of PFAT
(random levels); resumes an interrupted run."""

from insta_rs.training.stages import train_stage1
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    model, output, device = snakemake.params.model, snakemake.output, job_device(snakemake)
    train_stage1(model["method"], model["train"], f"models.{snakemake.wildcards.model}.train.stage1", model["arch"],
                 model["input_layer"], job_dataset(snakemake), snakemake.params.noise, output.model, output.history,
                 device, snakemake.params.precision, levels_dir=output.get("levels"), out_timing=output.get("timing"),
                 num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)


run_step(snakemake, main)  # noqa: F821
