# insta-rs: Insta-RS (instance-wise randomized smoothing) reproduced, with sound certificates beside it.
#   snakemake --cores 2                                    the offline demo (config.yaml)
#   snakemake --configfile config/paper-cifar10.yaml ...   paper scale (see README)
#   snakemake cost --configfile config/paper-cifar10.yaml  what a config costs, before running it
# Rule files in DAG order (data to tables, figures and the bill); common.smk holds the shared functions.

from snakemake.logging import logger
from snakemake.utils import min_version

from insta_rs.runtime import gpu_slots
from insta_rs.workflow.config_check import check_config, load_yaml
from insta_rs.cost.passes import cost_alone_requested
from insta_rs.workflow.launch import guard_execution

min_version("9.0")


# config.yaml unless --configfile names others; each is read once more to name the file and line of a YAML error.
for path in workflow.overwrite_configfiles or ["config.yaml"]:
    load_yaml(path)
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# Every config error stops the run here, naming the key (`snakemake cost` needs no data or checkpoints on disk).
SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"
check_config(config, SCHEMA, local_files=not cost_alone_requested())

# One machine: one GPU job per visible device (insta_rs.runtime.gpu_slots), unless --resources or a profile sets `gpu`.
if workflow.is_main_process and workflow.local_exec and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", gpu_slots.slot_count(config["device"]))


scattergather:
    shard=config["certify"]["shards"],


wildcard_constraints:
    model=r"[A-Za-z0-9_.+-]+",
    scatteritem=r"\d+-of-\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/pretrained.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/certify.smk"
include: "workflow/rules/sound.smk"
include: "workflow/rules/shards.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/cost.smk"


# A run takes the working directory's lock, then sets aside every damaged or unsealed result, to recompute it.
if workflow.is_main_process:
    guard_execution(workflow, LAYOUT, logger.warning)


# Every table and figure the config names, and the sound certificates.
rule all:
    default_target: True
    input:
        PLAN.final_targets(),
