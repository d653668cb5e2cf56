"""Merge the shard TSVs of one certification or search, in shard (= test subset) order."""

from insta_rs.certify_run import merge_tsvs
from insta_rs.runlog import setup_step_logging


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0])
    merge_tsvs(list(snakemake.input.shards), snakemake.output.tsv)


main(snakemake)  # noqa: F821
