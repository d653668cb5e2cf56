"""Convert one published checkpoint (Cohen / SmoothAdv / MACER layout) into an insta-rs checkpoint."""

from insta_rs.checkpoints import import_configured_model
from insta_rs.runlog import setup_step_logging


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    import_configured_model(snakemake.input.foreign, snakemake.wildcards.model, snakemake.params.entry,
                            snakemake.params.num_classes, snakemake.output.model)


main(snakemake)  # noqa: F821
