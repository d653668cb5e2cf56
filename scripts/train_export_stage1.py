"""A stage-I model as this model's final checkpoint: the "without fine-tuning" rows of Table 5."""

from insta_rs.runlog import setup_step_logging
from insta_rs.training.stages import export_stage1


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    export_stage1(snakemake.input.stage1, snakemake.output.model)


main(snakemake)  # noqa: F821
