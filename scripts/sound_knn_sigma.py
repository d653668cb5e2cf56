"""Per-example sigma from the mean distance to the k nearest training points (semi-elastic sigma,
Sukenik et al. 2022): the assignment TSV ``search/<model>/knn.tsv`` that the certify step certifies, and its
metadata ``knn.json`` (k, r, sigma_b, reference distance m, input dimension)."""

import json

from insta_rs.integrity import run_step
from insta_rs.io import atomic_write_text
from insta_rs.job import job_dataset
from insta_rs.sound.knn_sigma import assign_knn_sigma, training_tensors, write_assignment
from insta_rs.steps import examples


def main(snakemake, logger) -> None:
    cfg, dataset = snakemake.params.semi_elastic, job_dataset(snakemake)
    train_x = training_tensors(dataset, cfg["max_train"], cfg["seed"])
    x, labels, idx = examples(dataset, "test")
    table, meta = assign_knn_sigma(x, labels, idx, train_x, cfg["k"], cfg["r"], cfg["sigma_b"], cfg["m_subset"],
                                   cfg["seed"])
    write_assignment(table, snakemake.output.tsv)
    atomic_write_text(snakemake.output.meta, json.dumps(meta, indent=2) + "\n")


run_step(snakemake, main)  # noqa: F821
