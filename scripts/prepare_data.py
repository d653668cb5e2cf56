"""Make the configured data set available: download CIFAR-10 into dataset.root when dataset.download
is true (a no-op for digits), check that every split loads, and write a flag with the split sizes."""

from insta_rs.data.datasets import prepare_dataset
from insta_rs.files import atomic_write_text
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    dataset = snakemake.config["dataset"]  # with the location (untracked)
    sizes = prepare_dataset(dataset)
    lines = [f"name\t{dataset['name']}"] + [f"{split}\t{size}" for split, size in sizes.items()]
    atomic_write_text(snakemake.output.flag, "\n".join(lines) + "\n")


run_step(snakemake, main)  # noqa: F821
