"""A configured figure: the drawing of its kind (insta_rs.report.figures.FIGURE_KINDS), saved as PNG and PDF."""

from insta_rs.layout import Layout
from insta_rs.report.figures import FIGURE_KINDS, save_figure
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    params = snakemake.params
    layout = Layout.of_run(snakemake.config)
    figure = FIGURE_KINDS[params.kind].draw(params.figure, layout, params.noise)
    save_figure(figure, snakemake.output.png, snakemake.output.pdf)


run_step(snakemake, main)  # noqa: F821
