"""Build a result table (Markdown, LaTeX, TSV): a configured table with its companions (rule ``table``),
Appendix B.3 (rule ``b3``) or the training-speed comparison (rule ``training_speed``)."""

from insta_rs.runlog import setup_step_logging
from insta_rs.tables import build_table, training_speed_table, uniform_sigma_table, write_table


def main(snakemake) -> None:
    logger = setup_step_logging(snakemake.log[0], snakemake.threads)
    noise = snakemake.params.noise
    if snakemake.rule == "b3":
        b3 = snakemake.params.b3
        table = uniform_sigma_table(b3["models"], snakemake.params.results, n_levels=noise["n_levels"],
                                    sigma0=noise["sigma0"], paper_models=b3.get("paper_models"))
    elif snakemake.rule == "training_speed":
        train = snakemake.params.train
        table = training_speed_table(dict(zip(train, snakemake.input.timings)), train, n_levels=noise["n_levels"])
    else:
        table = build_table(snakemake.wildcards.table, snakemake.params.table, snakemake.params.results,
                            n_levels=noise["n_levels"], sigma0=noise["sigma0"], default_radii=snakemake.params.radii,
                            sound_cfg=snakemake.params.sound)
    write_table(table, snakemake.output.md, snakemake.output.tex, snakemake.output.tsv)
    logger.info("table %s: %d rows", table.name, len(table.numbers))


main(snakemake)  # noqa: F821
