"""Figure 3(a)(b): certified accuracy against radius for configured rows (same row spec as the tables);
``search:*`` rows are labelled as the paper's per-instance fixed-sigma radius."""

from insta_rs.figures import certified_accuracy_figure, save_figure
from insta_rs.runlog import setup_step_logging
from insta_rs.tables import load_row


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    noise, figure = snakemake.params.noise, snakemake.params.figure
    rows = {row["label"]: load_row(snakemake.params.results, row["model"], row["result"], noise["n_levels"],
                                   noise["sigma0"])
            for row in figure["rows"]}
    per_instance = [label for label, row in rows.items() if row.kind == "search"]
    save_figure(certified_accuracy_figure({label: row.frame for label, row in rows.items()},
                                          figure.get("max_radius"), figure.get("title", ""), per_instance),
                snakemake.output.png, snakemake.output.pdf)


main(snakemake)  # noqa: F821
