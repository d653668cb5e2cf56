"""The Dual RS certificate of every test example (insta_rs.sound.dual): the selector's certification and the
classifier's at the selected level, radius min(R_sel, R_cls), written as a certification TSV."""

from insta_rs.sound import dual
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    params = snakemake.params
    frame = dual.dual_from_level_files(snakemake.input.selector, dict(zip(params.levels, snakemake.input.levels)),
                                       params.levels, params.sigma0, params.alpha_classifier, snakemake.output.tsv)
    logger.info("Dual RS: %d examples, %d certified, ACR %.4f; R_sel < R_cls on %.0f%% of the certified",
                len(frame), int((frame["predict"] >= 0).sum()), float((frame["radius"] * frame["correct"]).mean()),
                100 * dual.selector_binding_share(frame))


run_step(snakemake, main)  # noqa: F821
