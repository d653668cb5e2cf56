"""Instance-wise noise-level search on one shard of the test subset: Algorithm 1 (multiple-start
FGSS) or the grid baseline, on the label-free approximate radius of Eq. (4)."""

import numpy as np
import pandas as pd

from insta_rs.files import atomic_write
from insta_rs.levels import sigma_levels
from insta_rs.runtime.runlog import Progress
from insta_rs.search import algorithms as search
from insta_rs.search.registry import SEARCH_METHODS
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device, job_shard
from insta_rs.workflow.steps import examples, make_smoother, shard_positions


def main(snakemake, logger) -> None:
    params, method = snakemake.params, snakemake.wildcards.method
    cfg, noise, dataset = params.search, params.noise, job_dataset(snakemake)
    x, labels, idx = examples(dataset, "test")
    shard = shard_positions(len(idx), job_shard(snakemake))
    x, labels, idx = x[shard], labels[shard], idx[shard]
    smoother = make_smoother(snakemake.input.model, snakemake.config["search"]["batch_size"],
                             job_device(snakemake), params.precision)
    estimate = search.RadiusEstimate(cfg["m"], cfg["p_max"], cfg["seed"], cfg["common_noise"])
    criterion = search.instance_criterion(smoother, x, idx, noise["sigma0"], noise["n_levels"], estimate)
    with smoother.reporting(Progress(logger, len(idx) * noise["n_levels"] * cfg["m"], "forward passes of the search",
                                     at_most=SEARCH_METHODS[method].fewer_levels, final=False)):
        run = getattr(search, method)  # a search method is the function of its name (insta_rs.search.registry)
        result = run(criterion, len(idx), noise["n_levels"], **SEARCH_METHODS[method].arguments(cfg))
    rows = np.arange(len(idx))
    table = pd.DataFrame({
        "idx": idx, "label": labels, "level": result.level,
        "sigma": sigma_levels(noise["sigma0"], noise["n_levels"])[result.level - 1],
        "cr_hat": result.values[rows, result.level - 1],
        "n_levels_evaluated": result.n_levels_evaluated,
    })
    for level in range(1, noise["n_levels"] + 1):
        table[f"cr_hat_l{level}"] = result.values[:, level - 1]
    logger.info("%s: %d examples, mean distinct levels evaluated (ASS) %.3f", method, len(idx),
                table["n_levels_evaluated"].mean())
    with atomic_write(snakemake.output.tsv) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6f", na_rep="nan")


run_step(snakemake, main)  # noqa: F821
