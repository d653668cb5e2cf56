"""Stage II: fine-tune a stage-I model (Insta-RS or PFAT) with each example's level fixed; resumes an
interrupted run."""

from insta_rs.device import resolve_device
from insta_rs.runlog import setup_step_logging
from insta_rs.training.stages import train_stage2


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    params = snakemake.params
    device = resolve_device("cpu" if snakemake.resources.gpu == 0 else params.device)
    train_stage2(params.method, params.stage2, f"models.{snakemake.wildcards.model}.train.stage2", params.arch,
                 params.input_layer, params.dataset, params.noise, snakemake.input.stage1,
                 snakemake.input.get("levels"), snakemake.output.model, snakemake.output.history, device,
                 params.precision, num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)


main(snakemake)  # noqa: F821
