"""Uniform noise level (Algorithm 3): multiple-start FGSS on ACR_hat (Eq. 5) over a whole split,
the test inputs as in the paper (labels unused) or the held-out validation split (a sound choice)."""

import numpy as np
import pandas as pd

from insta_rs import search
from insta_rs.integrity import run_step
from insta_rs.io import atomic_write
from insta_rs.job import job_dataset, job_device
from insta_rs.levels import sigma_levels
from insta_rs.steps import examples, make_smoother


def main(snakemake, logger) -> None:
    params, split = snakemake.params, snakemake.wildcards.split
    cfg, noise, dataset = params.search, params.noise, job_dataset(snakemake)
    x, _, idx = examples(dataset, split)
    smoother = make_smoother(snakemake.input.model, snakemake.config["search"]["batch_size"],
                             job_device(snakemake), params.precision)
    criterion = search.uniform_criterion(smoother, x, idx, noise["sigma0"], noise["n_levels"], cfg["m"],
                                         cfg["p_max"], cfg["seed"], cfg["common_noise"])
    result = search.fgss(criterion, 1, noise["n_levels"], [tuple(s) for s in cfg["starts"]])
    evaluated = np.flatnonzero(~np.isnan(result.values[0])) + 1
    table = pd.DataFrame({
        "level": evaluated,
        "sigma": sigma_levels(noise["sigma0"], noise["n_levels"])[evaluated - 1],
        "acr_hat": result.values[0, evaluated - 1],
        "chosen": (evaluated == result.level[0]).astype(int),
    })
    logger.info("uniform search on %s (%d inputs): level %d chosen after %d levels", split, len(idx),
                result.level[0], len(evaluated))
    with atomic_write(snakemake.output.tsv) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6f")


run_step(snakemake, main)  # noqa: F821
