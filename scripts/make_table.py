"""Build a result table (Markdown, LaTeX, TSV) of a kind of insta_rs.report.table_kinds.TABLE_KINDS: a configured
table with its companions, Appendix B.3, the training-speed comparison or a collapse diagnostic."""

from insta_rs.layout import Layout
from insta_rs.report.render import with_precision, write_table
from insta_rs.report.table_kinds import TableJob, table_kind
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset


def main(snakemake, logger) -> None:
    name, params = snakemake.wildcards.table, snakemake.params
    job = TableJob(name, params.spec, list(snakemake.input.results), Layout.of_run(snakemake.config), params.noise,
                   job_dataset(snakemake))
    table = table_kind(name).build(job)
    write_table(with_precision(table, params.precision), snakemake.output.md, snakemake.output.tex,
                snakemake.output.tsv)
    logger.info("table %s: %d rows", table.name, len(table.numbers))


run_step(snakemake, main)  # noqa: F821
