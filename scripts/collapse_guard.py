"""The collapse guard of a model: per level, the effective number of classes among the certified predictions on the
validation split, and whether the level is collapsed (insta_rs.collapse), which the project's own choices leave out;
with analysis.collapse_guard off, a table that leaves no level out."""

from insta_rs.certification.records import read_certification
from insta_rs.collapse import collapse_guard, collapsed_levels
from insta_rs.files import atomic_write
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    frames = {level: read_certification(path) for level, path in enumerate(snakemake.input.levels, start=1)}
    guard = collapse_guard(frames, snakemake.params.num_classes, snakemake.params.n_levels)
    with atomic_write(snakemake.output.tsv) as handle:
        guard.to_csv(handle, sep="\t", index=False, float_format="%.6f")
    if not snakemake.params.guard:
        logger.info("collapse guard off (analysis.collapse_guard: false): no level is left out")
        return
    collapsed = guard.loc[guard["collapsed"] == 1, "level"].tolist()
    logger.info("collapse guard: %s on the validation split; left out of the project's choices: %s\n%s",
                f"levels {collapsed} collapse" if collapsed else "no level collapses", collapsed_levels(guard) or "none",
                guard.to_string(index=False))


run_step(snakemake, main)  # noqa: F821
