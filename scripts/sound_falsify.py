"""The exact counterexample to the Insta-RS radius as a certificate of the deployed classifier, at the paper's
setting (ball classifier, noncentral chi-square probabilities, no sampling); also
``python -m insta_rs.sound.falsify``."""

from insta_rs.files import atomic_write_text
from insta_rs.sound.falsify import FalsificationSettings, describe, falsify
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    cfg = snakemake.params.falsify
    # the paper's 16 levels, sigma0 = 0.25, alpha 0.001, N = 1e5
    report = falsify(FalsificationSettings(dim=cfg["dim"], rho=cfg["rho"]))
    text = describe(report, cfg["dim"], cfg["rho"])
    atomic_write_text(snakemake.output.md, text)
    logger.info("%s", text)


run_step(snakemake, main)  # noqa: F821
