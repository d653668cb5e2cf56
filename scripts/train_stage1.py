"""Stage I of Insta-RS Train (Algorithm 2, per-example levels updated every L epochs) or of PFAT
(random levels); resumes an interrupted run."""

from insta_rs.device import resolve_device
from insta_rs.runlog import setup_step_logging
from insta_rs.training.stages import train_stage1


def main(snakemake) -> None:
    setup_step_logging(snakemake.log[0], snakemake.threads)
    params = snakemake.params
    output = snakemake.output
    device = resolve_device("cpu" if snakemake.resources.gpu == 0 else params.device)
    train_stage1(params.method, params.stage1, f"models.{snakemake.wildcards.model}.train.stage1", params.arch,
                 params.input_layer, params.dataset, params.noise, output.model, output.history, device,
                 params.precision, levels_dir=output.get("levels"), out_timing=output.get("timing"),
                 num_workers=snakemake.threads - 1 if device.type == "cuda" else 0)


main(snakemake)  # noqa: F821
