"""Certify one shard of the test subset or of the validation split with the configured procedure (Cohen et al.'s
CERTIFY, or the sequential one, settling the readings the rule names): at every noise level of a sweep (one file per
level), at each example's sigma from an assignment TSV (a search's result), or at one sigma (Dual RS's selector). An
interrupted run resumes where it stopped."""

import numpy as np

from insta_rs.certification.procedures import procedure_from_config
from insta_rs.certification.runner import CertifySettings, certify_to_tsv
from insta_rs.certification.sequential import Reading
from insta_rs.levels import level_sigma
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device, job_shard
from insta_rs.workflow.steps import assigned_sigma, examples, make_smoother, shard_positions


def main(snakemake, logger) -> None:
    params, certify = snakemake.params, snakemake.params.certify
    batch_size, record_time = snakemake.config["certify"]["batch_size"], snakemake.config["certify"]["record_time"]
    x, labels, idx = examples(job_dataset(snakemake), params.get("split", "test"))
    shard = shard_positions(len(idx), job_shard(snakemake))
    x, labels, idx = x[shard], labels[shard], idx[shard]
    if "assignment" in snakemake.input.keys():
        jobs = [(assigned_sigma(snakemake.input.assignment, idx), snakemake.output.tsv)]
    elif "levels" in params.keys():
        jobs = [(np.full(len(idx), level_sigma(level, params.sigma0)), path)
                for level, path in zip(params.levels, snakemake.output)]
    else:
        jobs = [(np.full(len(idx), params.sigma), snakemake.output.tsv)]
    smoother = make_smoother(snakemake.input.model, batch_size, job_device(snakemake), params.precision)
    procedure = procedure_from_config(certify, [Reading.from_label(text) for text in params.get("readings", [])])
    settings = CertifySettings(certify["n0"], certify["n"], certify["alpha"], certify["seed"], procedure, record_time)
    examples_per_chunk = max(procedure.fewest_per_chunk, 16 * batch_size // (certify["n0"] + certify["n"]))
    for number, (sigma, path) in enumerate(jobs, start=1):
        logger.info("certification %d of %d: %s (%s)", number, len(jobs), path, procedure.label)
        certify_to_tsv(smoother, x, labels, idx, sigma, path, settings, examples_per_chunk)


run_step(snakemake, main)  # noqa: F821
