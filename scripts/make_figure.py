"""A configured figure: the drawing of its kind (insta_rs.figures.FIGURE_KINDS), saved as PNG and PDF."""

from insta_rs.figures import FIGURE_KINDS, save_figure
from insta_rs.integrity import run_step
from insta_rs.layout import Layout


def main(snakemake, logger) -> None:
    params = snakemake.params
    layout = Layout.of_run(snakemake.config)
    figure = FIGURE_KINDS[params.kind].draw(params.figure, layout, params.noise)
    save_figure(figure, snakemake.output.png, snakemake.output.pdf)


run_step(snakemake, main)  # noqa: F821
