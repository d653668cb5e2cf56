"""Train a fixed-sigma baseline (Cohen: gaussian, SmoothAdv, MACER); resumes an interrupted run."""

from insta_rs.device import resolve_device
from insta_rs.runlog import setup_step_logging
from insta_rs.training.stages import train_fixed_sigma


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    params = snakemake.params
    device = resolve_device("cpu" if snakemake.resources.gpu == 0 else params.device)
    train_fixed_sigma(params.train, f"models.{snakemake.wildcards.model}.train", params.arch, params.input_layer,
                      params.dataset, snakemake.output.model, snakemake.output.history, device, params.precision,
                      num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)


main(snakemake)  # noqa: F821
