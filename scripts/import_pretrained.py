"""Convert one published checkpoint (Cohen / SmoothAdv / MACER layout) into an insta-rs checkpoint."""

from insta_rs.models.checkpoints import import_configured_model
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    import_configured_model(snakemake.input.foreign, snakemake.wildcards.model, snakemake.params.entry,
                            snakemake.params.num_classes, snakemake.output.model)


run_step(snakemake, main)  # noqa: F821
