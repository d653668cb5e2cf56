"""Download one published model archive (insta_rs/pretrained.yaml), verifying its sha256 when recorded.

The names of the models that use the archive are read from the config (untracked on purpose: they
only name config keys in error messages and must not trigger a new download).
"""

from insta_rs.fetch import fetch_archive
from insta_rs.integrity import run_step


def main(snakemake, logger) -> None:
    source = snakemake.wildcards.source
    users = [name for name, entry in snakemake.config["models"].items()
             if entry.get("pretrained", {}).get("source") == source and not entry["pretrained"].get("path")]
    fetch_archive(source, snakemake.output.archive, users)


run_step(snakemake, main)  # noqa: F821
