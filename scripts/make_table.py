"""Build a result table (Markdown, LaTeX, TSV): a configured table with its companions, Appendix B.3, the
training-speed comparison or a collapse diagnostic (insta_rs.workflow.plan.Plan.table_spec says which)."""

from insta_rs.data.datasets import train_labels
from insta_rs.layout import Layout
from insta_rs.report.b3 import uniform_sigma_table
from insta_rs.report.build import build_table
from insta_rs.report.collapse_tables import levels_collapse_table, training_collapse_table
from insta_rs.report.render import with_precision, write_table
from insta_rs.report.speed import training_speed_table
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset


def main(snakemake, logger) -> None:
    spec, noise, layout = snakemake.params.spec, snakemake.params.noise, Layout.of_run(snakemake.config)
    if "b3" in spec:
        table = uniform_sigma_table(spec["b3"]["models"], layout, n_levels=noise["n_levels"], sigma0=noise["sigma0"],
                                    paper_models=spec["b3"].get("paper_models"))
    elif "train" in spec:
        table = training_speed_table(dict(zip(spec["train"], snakemake.input.results)), spec["train"],
                                     n_levels=noise["n_levels"])
    elif "collapse_training" in spec:
        table = training_collapse_table(spec["collapse_training"], train_labels(job_dataset(snakemake)),
                                        noise["n_levels"], snakemake.params.dataset["num_classes"])
    elif "collapse_levels" in spec:
        table = levels_collapse_table(spec["collapse_levels"], snakemake.params.dataset["num_classes"])
    else:
        table = build_table(snakemake.wildcards.table, spec["table"], layout, n_levels=noise["n_levels"],
                            sigma0=noise["sigma0"], default_radii=spec["radii"], sound_cfg=spec["sound"],
                            num_classes=snakemake.params.dataset["num_classes"])
    write_table(with_precision(table, snakemake.params.precision), snakemake.output.md, snakemake.output.tex,
                snakemake.output.tsv)
    logger.info("table %s: %d rows", table.name, len(table.numbers))


run_step(snakemake, main)  # noqa: F821
