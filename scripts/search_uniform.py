"""Uniform noise level (Algorithm 3): multiple-start FGSS on ACR_hat (Eq. 5) over a whole split, the test inputs as in
the paper (labels unused) or the held-out validation split (a sound choice; the collapse guard leaves out the levels
whose certified validation predictions collapse onto few classes, and the choice without the guard is recorded)."""

import numpy as np
import pandas as pd

from insta_rs.collapse import guarded_levels
from insta_rs.files import atomic_write
from insta_rs.levels import sigma_levels
from insta_rs.runtime.runlog import Progress
from insta_rs.search import algorithms as search
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device
from insta_rs.workflow.steps import examples, make_smoother


def main(snakemake, logger) -> None:
    params, split = snakemake.params, snakemake.wildcards.split
    cfg, noise, dataset = params.search, params.noise, job_dataset(snakemake)
    x, _, idx = examples(dataset, split)
    smoother = make_smoother(snakemake.input.model, snakemake.config["search"]["batch_size"],
                             job_device(snakemake), params.precision)
    estimate = search.RadiusEstimate(cfg["m"], cfg["p_max"], cfg["seed"], cfg["common_noise"])
    criterion = search.uniform_criterion(smoother, x, idx, noise["sigma0"], noise["n_levels"], estimate)
    evaluate, values = search.memoized(criterion, 1, noise["n_levels"])
    starts = [tuple(s) for s in cfg["starts"]]
    excluded = guarded_levels(snakemake.input.guard[0]) if snakemake.input.guard else []
    with smoother.reporting(Progress(logger, len(idx) * noise["n_levels"] * cfg["m"],
                                     f"forward passes of Algorithm 3 on the {split} split", at_most=True, final=False)):
        chosen = search.fgss(search.excluding(evaluate, excluded), 1, noise["n_levels"], starts).level[0]
        unguarded = search.fgss(evaluate, 1, noise["n_levels"], starts).level[0] if excluded else chosen
    evaluated = np.flatnonzero(~np.isnan(values[0])) + 1
    table = pd.DataFrame({
        "level": evaluated,
        "sigma": sigma_levels(noise["sigma0"], noise["n_levels"])[evaluated - 1],
        "acr_hat": values[0, evaluated - 1],
        "chosen": (evaluated == chosen).astype(int),
        "collapsed": np.isin(evaluated, excluded).astype(int),
        "chosen_without_guard": (evaluated == unguarded).astype(int),
    })
    logger.info("uniform search on %s (%d inputs): level %d chosen after %d levels (collapse guard: %s left out%s)",
                split, len(idx), chosen, len(evaluated), excluded or "none",
                f"; level {unguarded} without it" if unguarded != chosen else "")
    with atomic_write(snakemake.output.tsv) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6f")


run_step(snakemake, main)  # noqa: F821
