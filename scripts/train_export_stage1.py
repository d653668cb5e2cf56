"""A stage-I model as this model's final checkpoint: the "without fine-tuning" rows of Table 5."""

from insta_rs.training.stages import export_stage1
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    export_stage1(snakemake.input.stage1, snakemake.output.model)


run_step(snakemake, main)  # noqa: F821
