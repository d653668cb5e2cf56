"""The certificate of every test example under one sound mode (``{mode}`` of insta_rs.sound.modes): the mode's module
reads the results its registry entry names and writes a certification TSV."""

from insta_rs.sound.modes import SOUND_MODES
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    mode = SOUND_MODES[snakemake.wildcards.mode]
    logger.info(mode.certificate()(dict(snakemake.input.items()), snakemake.params.settings, snakemake.output.tsv))


run_step(snakemake, main)  # noqa: F821
