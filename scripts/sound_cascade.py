"""Cascade certificate (multi-scale smoothing, Jeong & Shin 2023) of every test example from the fixed-level
certifications ``certify/<model>/level<k>.tsv``, written as a certification TSV; the collapse guard leaves out the
levels whose certified validation predictions collapse onto few classes (insta_rs.collapse)."""

from insta_rs.collapse import guarded_levels
from insta_rs.sound.cascade import cascade_from_level_files
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    excluded = guarded_levels(snakemake.input.guard)
    levels = [path for level, path in enumerate(snakemake.input.levels, start=1) if level not in excluded]
    frame = cascade_from_level_files(levels, snakemake.output.tsv, snakemake.params.p0)
    logger.info("cascade (p0 = %g) over %d levels (collapse guard: %s left out): %d examples, %d certified, ACR %.4f",
                snakemake.params.p0, len(levels), excluded or "none", len(frame), int((frame["predict"] >= 0).sum()),
                float((frame["radius"] * frame["correct"]).mean()))


run_step(snakemake, main)  # noqa: F821
