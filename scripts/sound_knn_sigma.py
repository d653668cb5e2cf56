"""Per-example sigma from the mean distance to the k nearest training points (semi-elastic sigma,
Sukenik et al. 2022): the assignment TSV ``search/<model>/knn.tsv`` that the certify step certifies, and its
metadata ``knn.json`` (k, r, sigma_b, reference distance m, input dimension, the collapse guard's cap sigma_max)."""

import json

from insta_rs.collapse import guarded_levels
from insta_rs.files import atomic_write_text
from insta_rs.sound.knn_sigma import (
    KnnSigmaSettings,
    assign_knn_sigma,
    guarded_sigma_max,
    training_tensors,
    write_assignment,
)
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset
from insta_rs.workflow.steps import examples


def main(snakemake, logger) -> None:
    cfg, dataset = snakemake.params.semi_elastic, job_dataset(snakemake)
    train_x = training_tensors(dataset, cfg["max_train"], cfg["seed"])
    x, labels, idx = examples(dataset, "test")
    sigma_max = guarded_sigma_max(guarded_levels(snakemake.input.guard), snakemake.params.noise["sigma0"])
    settings = KnnSigmaSettings(cfg["k"], cfg["r"], cfg["sigma_b"], cfg["m_subset"], cfg["seed"], sigma_max)
    table, meta = assign_knn_sigma(x, labels, idx, train_x, settings)
    write_assignment(table, snakemake.output.tsv)
    atomic_write_text(snakemake.output.meta, json.dumps(meta, indent=2) + "\n")


run_step(snakemake, main)  # noqa: F821
