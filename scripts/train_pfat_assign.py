"""PFAT: assign each training example the level with the largest label-based CR_hat among the levels it
is predicted correctly at (grid search over all levels), timed."""

from insta_rs.device import resolve_device
from insta_rs.runlog import setup_step_logging
from insta_rs.training.stages import assign_pfat_levels


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    params = snakemake.params
    device = resolve_device("cpu" if snakemake.resources.gpu == 0 else params.device)
    assign_pfat_levels(snakemake.input.model, params.stage1, f"models.{snakemake.wildcards.model}.train.stage1",
                       params.dataset, params.noise, snakemake.output.levels, snakemake.output.timing, device,
                       params.precision)


main(snakemake)  # noqa: F821
