"""Download one published model archive (insta_rs/models/pretrained.yaml), checked against the sha256 the catalog or
the config gives, else against the one its first download recorded (resources/pretrained/SHA256SUMS), else
recording it (insta_rs.data.sums).

The models that use the archive are read from the config (untracked on purpose: they name config keys in error
messages, and their pretrained.sha256 is checked, without triggering a new download).
"""

from insta_rs.data.fetch import fetch_archive
from insta_rs.workflow.integrity import run_step


def main(snakemake, logger) -> None:
    source = snakemake.wildcards.source
    users = {name: entry["pretrained"] for name, entry in snakemake.config["models"].items()
             if entry.get("pretrained", {}).get("source") == source and not entry["pretrained"].get("path")}
    configured = next((pretrained["sha256"] for pretrained in users.values() if pretrained.get("sha256")), None)
    fetch_archive(source, snakemake.output.archive, list(users), configured)


run_step(snakemake, main)  # noqa: F821
