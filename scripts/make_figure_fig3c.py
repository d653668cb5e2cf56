"""Figure 3(c): the per-example sigma chosen by grid search and by multi-start FGSS."""

from insta_rs.figures import save_figure, sigma_histogram_figure
from insta_rs.runlog import setup_step_logging
from insta_rs.tables import read_tsv, search_path


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    noise, model = snakemake.params.noise, snakemake.params.figure["model"]
    searches = {label: read_tsv(search_path(snakemake.params.results, model, method), ["idx", "level"])
                for method, label in (("grid", "grid search"), ("fgss", "multi-start FGSS"))}
    save_figure(sigma_histogram_figure(searches, noise["n_levels"], noise["sigma0"]), snakemake.output.png,
                snakemake.output.pdf)


main(snakemake)  # noqa: F821
