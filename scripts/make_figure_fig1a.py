"""Figure 1(a): ACR against the test-time noise variance, one line per model, from the fixed-level certifications."""

from insta_rs import analysis
from insta_rs.figures import acr_vs_sigma_figure, save_figure
from insta_rs.runlog import setup_step_logging
from insta_rs.tables import load_levels


def main(snakemake) -> None:
    logger = setup_step_logging(snakemake.log[0], snakemake.threads)
    noise, results = snakemake.params.noise, snakemake.params.results
    acr_by_model = {model: analysis.acr_by_level(load_levels(results, model, noise["n_levels"]))
                    for model in snakemake.params.figure["models"]}
    for model, by_level in acr_by_model.items():
        best = by_level.loc[by_level["acr"].idxmax()]
        logger.info("%s: best ACR %.4f at level %d", model, best["acr"], best["level"])
    save_figure(acr_vs_sigma_figure(acr_by_model, noise["sigma0"]), snakemake.output.png, snakemake.output.pdf)


main(snakemake)  # noqa: F821
