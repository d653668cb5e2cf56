"""A configured figure: the drawing of its kind (insta_rs.figures.FIGURE_KINDS), saved as PNG and PDF."""

from insta_rs.figures import FIGURE_KINDS, save_figure
from insta_rs.layout import Layout
from insta_rs.runlog import setup_step_logging


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    params = snakemake.params
    layout = Layout.of_run(snakemake.config)
    figure = FIGURE_KINDS[params.kind].draw(params.figure, layout, params.noise)
    save_figure(figure, snakemake.output.png, snakemake.output.pdf)


main(snakemake)  # noqa: F821
