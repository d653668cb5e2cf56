"""Figure 1(c): certified radius against sigma for three typical test examples, picked from the level files."""

from insta_rs.figures import pick_typical_examples, radius_vs_sigma_figure, save_figure
from insta_rs.runlog import setup_step_logging
from insta_rs.tables import load_levels


def main(snakemake) -> None:
    logger = setup_step_logging(snakemake.log[0], snakemake.threads)
    noise = snakemake.params.noise
    levels = load_levels(snakemake.params.results, snakemake.params.figure["model"], noise["n_levels"])
    examples = pick_typical_examples(levels)
    logger.info("typical examples: %s", examples)
    save_figure(radius_vs_sigma_figure(levels, examples, noise["sigma0"]), snakemake.output.png, snakemake.output.pdf)


main(snakemake)  # noqa: F821
