"""Train Dual RS's sigma selector on its labels with noise at sigma_sel (the stage's sigma); resumes an
interrupted run."""

from insta_rs.data.datasets import load_split
from insta_rs.sound import dual_selector
from insta_rs.training.config import parse_stage
from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device


def main(snakemake, logger) -> None:
    params, selector = snakemake.params, snakemake.params.selector
    train_set = load_split(job_dataset(snakemake), "train")
    labels = dual_selector.read_labels(snakemake.input.labels, params.levels, len(train_set))
    stage = parse_stage(selector["train"], "fixed", "sound.dual.selector.train")
    job = TrainingJob(selector["arch"], selector["input_layer"], "sound.dual.selector", job_device(snakemake),
                      params.precision)
    dual_selector.train_selector(train_set, labels, params.levels, params.sigma0, stage, job,
                                 StageOutput(snakemake.output.model, history_path=snakemake.output.history),
                                 identity={"model": snakemake.wildcards.model})


run_step(snakemake, main)  # noqa: F821
