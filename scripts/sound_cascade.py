"""Cascade certificate (multi-scale smoothing, Jeong & Shin 2023) of every test example from the fixed-level
certifications ``certify/<model>/level<k>.tsv``, written as a certification TSV."""

from insta_rs.integrity import run_step
from insta_rs.sound.cascade import cascade_from_level_files


def main(snakemake, logger) -> None:
    frame = cascade_from_level_files(list(snakemake.input.levels), snakemake.output.tsv, snakemake.params.p0)
    logger.info("cascade (p0 = %g): %d examples, %d certified, ACR %.4f", snakemake.params.p0, len(frame),
                int((frame["predict"] >= 0).sum()), float((frame["radius"] * frame["correct"]).mean()))


run_step(snakemake, main)  # noqa: F821
