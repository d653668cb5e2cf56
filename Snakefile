# insta-rs: Insta-RS (instance-wise randomized smoothing) reproduced, with sound certificates beside it.
#
#   snakemake --cores 2                      the offline demo (config.yaml)
#   snakemake --configfile config/paper-cifar10.yaml ...   paper scale (see README)
#
# Stages, in DAG order; each file holds the rules of one stage.

from snakemake.utils import min_version, validate

min_version("9.0")


if not config:  # --configfile replaces the demo config instead of merging into it


    configfile: "config.yaml"



validate(config, "workflow/schemas/config.schema.yaml")


scattergather:
    shard=config["certify"]["shards"],


wildcard_constraints:
    model=r"[A-Za-z0-9_.+-]+",
    level=r"\d+",
    method=r"fgss|grid",
    assignment=r"fgss|grid|knn",
    split=r"test|validation",
    stage=r"certify|search",
    name=r"level\d+|search_[a-z]+|fgss|grid",
    scatteritem=r"\d+-of-\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/analysis_inputs.smk"  # functions: what tables and figures read (certify.smk asks)
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrained.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/certify.smk"
include: "workflow/rules/sound.smk"
include: "workflow/rules/analysis.smk"


rule all:
    """Every table and figure the config names."""
    input:
        final_targets(),
    default_target: True
