"""Dual RS's selector labels: per training example the candidate level with the largest positive radius
estimated with the label (sound.dual.labels.criterion; insta_rs.sound.dual_selector.hard_labels) among the
candidates the collapse guard keeps, logged as per-class level histograms."""

from insta_rs.collapse import guarded_levels
from insta_rs.search.algorithms import RadiusEstimate
from insta_rs.sound import dual_selector
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device
from insta_rs.workflow.steps import make_smoother


def main(snakemake, logger) -> None:
    params = snakemake.params
    classifier = make_smoother(snakemake.input.model, snakemake.config["search"]["batch_size"],
                               job_device(snakemake), params.precision)
    estimate = RadiusEstimate(params.labels["m"], params.p_max, params.labels["seed"])
    frame = dual_selector.label_training_split(classifier, job_dataset(snakemake), params.levels, params.sigma0,
                                               estimate, params.labels["criterion"],
                                               guarded_levels(snakemake.input.guard))
    dual_selector.write_labels(frame, snakemake.output.labels)


run_step(snakemake, main)  # noqa: F821
