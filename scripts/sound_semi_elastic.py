"""Semi-elastic certified radii (Sukenik et al. 2022) for the certification at the kNN sigma
(``certify/<model>/search_knn.tsv``), written as a certification TSV."""

import json
from pathlib import Path

from insta_rs.certification.records import read_certification, write_certification
from insta_rs.sound.semi_elastic import semi_elastic_frame
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    meta = json.loads(Path(snakemake.input.meta).read_text())
    certification = read_certification(snakemake.input.tsv)
    frame = semi_elastic_frame(certification, meta["dim"], meta["r"])
    write_certification(frame, snakemake.output.tsv)
    logger.info("semi-elastic (d = %d, r = %g): ACR %.4f (Cohen's radii at the same sigma: %.4f)", meta["dim"],
                meta["r"], float((frame["radius"] * frame["correct"]).mean()),
                float((certification["radius"] * certification["correct"]).mean()))


run_step(snakemake, main)  # noqa: F821
