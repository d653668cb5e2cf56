"""Shared by the rule files (the run's layout and plan, what each rule tracks, the code a step imports).

Functions and constants only (no rules), as the Snakemake linter expects of shared code. Every result path
comes from ``LAYOUT`` (insta_rs.layout); what a run makes and what each target reads from ``PLAN``
(insta_rs.plan). A rule's ``params`` hold what its result depends on (the protocol), never how it is
computed: the config keys marked ``how: true`` in the schema (batch sizes, shards, locations, the device
index) are read by the scripts from ``snakemake.config`` and re-run nothing.
"""

import os
import re

from insta_rs import gpu_slots
from insta_rs.code_deps import package_sources
from insta_rs.config_check import how_keys, load_schema, protocol
from insta_rs.device import device_kind
from insta_rs.layout import Layout, protocol_key
from insta_rs.plan import Plan

LAYOUT = Layout.of_run(config)
PLAN = Plan(config, LAYOUT)
LEVELS = PLAN.all_levels
HOW = how_keys(load_schema(os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")))
# The device kind (cpu or cuda) is part of what is computed: the two draw different noise. GPU rules ask for
# one GPU when it is cuda (or when GPUs are simulated for tests); the Snakefile sets the global `gpu` resource to
# the machine's visible GPUs and each job claims a device of its own (insta_rs.gpu_slots), while CPU jobs run
# beside them.
DEVICE = device_kind(config["device"])
GPUS = int(DEVICE == "cuda" or gpu_slots.simulated_count() > 0)
COMPUTE = {"device": DEVICE, "precision": config["precision"]}


def relative(path):
    """``path`` relative to the working directory when it lies below it (so that moving the checkout, with its
    results, changes no input path), else as given."""
    below = os.path.relpath(path)
    return path if below.startswith("..") else below


def package_code(script):
    """Source files of the insta_rs modules that ``scripts/<script>`` imports, directly or through other
    modules, declared as inputs so that an edit re-runs the step (``snakemake --touch`` accepts a cosmetic one)."""
    return [relative(path) for path in package_sources(os.path.join(workflow.basedir, "scripts", script),
                                                       os.path.join(workflow.basedir, "src", "insta_rs"))]


def package_data(name):
    """A data file shipped in the package (e.g. the paper's numbers), declared as an input."""
    return relative(os.path.join(workflow.basedir, "src", "insta_rs", name))


def tracked(section, *leave_out):
    """Config section ``section`` without its how-keys (and ``leave_out``): what a result depends on."""
    return {key: value for key, value in protocol(config, section, HOW).items() if key not in leave_out}



# The data set settings a result on each split depends on: test_subset only chooses test images.
SPLIT_DATASET = {"test": tracked("dataset"), "validation": tracked("dataset", "test_subset")}
# What training depends on beyond the model's own entry, with the noise levels for the per-example-sigma stages.
TRAINING = {"dataset": SPLIT_DATASET["validation"], **COMPUTE}
TRAINING_LEVELS = {**TRAINING, "noise": config["noise"]}
# What a search or a certification of the test subset depends on (a sharded job's merge tracks the same).
SEARCH = {"search": tracked("search"), "noise": config["noise"], "dataset": SPLIT_DATASET["test"], **COMPUTE}
CERTIFY = {"certify": tracked("certify", "validation_seed", "validation_n"), "dataset": SPLIT_DATASET["test"],
           "sigma0": config["noise"]["sigma0"], **COMPUTE}
# The validation split's certifications: the configured procedure, with their own seed and N.
VALIDATION_CERTIFY = {**CERTIFY, "certify": {**CERTIFY["certify"], "seed": config["certify"]["validation_seed"],
                                             "n": config["certify"]["validation_n"] or config["certify"]["n"]},
                      "dataset": SPLIT_DATASET["validation"]}
# Dual RS's selector: certified at sigma_sel (its training sigma) with its share of alpha and its own seed.
DUAL = config["sound"]["dual"]
SELECTOR_CERTIFY = {**CERTIFY, "certify": {**CERTIFY["certify"], "seed": DUAL["seed"],
                                           "alpha": DUAL["alpha_share"] * config["certify"]["alpha"]},
                    "sigma": DUAL.get("selector", {}).get("train", {}).get("sigma")}


def level_readings(wildcards):
    """The other levels at which the model's test-subset certifications are read, which a sequential
    certification settles too (insta_rs.plan.Plan.level_readings; none under fixed N)."""
    return PLAN.level_readings(wildcards.model)


def one_of(names):
    """A wildcard regex matching exactly one of ``names`` (never matches when the list is empty)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def model_entry(wildcards):
    """The config entry of the job's model."""
    return config["models"][wildcards.model]


def foreign_checkpoint(wildcards):
    """The model's local ``pretrained.path``, else the downloaded archive of its source."""
    pretrained = model_entry(wildcards)["pretrained"]
    return pretrained.get("path") or f"resources/pretrained/{pretrained['source']}/archive"


def training(part=None, leave_out=()):
    """Params of a training job: the model's arch, input layer and method, and its ``train`` entry (or that
    entry's ``part``, stage1 or stage2) without ``leave_out``."""

    def settings(wildcards):
        entry = model_entry(wildcards)
        train = entry["train"] if part is None else entry["train"][part]
        return {"arch": entry["arch"], "input_layer": entry["input_layer"], "method": entry["train"]["method"],
                "train": {key: value for key, value in train.items() if key not in leave_out}}

    return settings


def stage1_of(name):
    """Input function: a file of the stage-I model that the job's model fine-tunes (its own or stage1_from's)."""
    return lambda wildcards: LAYOUT.model_file(PLAN.stage1_source(wildcards.model), name)


# ---------------------------------------------------------------------------------------------- sharding

def sharded(final, protocol):
    """Where a sharded job writes its share of ``final``: a temporary shard file that a ``merge_*`` job
    concatenates into ``final`` (one shard too). The merge makes every result whatever the shard count, and
    shard files of finished results are not kept, so changing the number of shards re-runs nothing. Shard
    files live below a key of the job's ``protocol``, so that Snakemake's record of a shard made under another
    protocol is never consulted."""
    return temp(LAYOUT.shard(final, protocol_key(protocol)))


def shards_of(finals, protocol):
    """Input function: the shard files (under ``protocol``) of the results ``finals(wildcards)``, in turn."""
    key = protocol_key(protocol)
    return lambda wildcards: [path for final in finals(wildcards) for path in gather.shard(LAYOUT.shard(final, key))]


# ---------------------------------------------------------------------------------------------- reports

FORMATS = {"md": "Markdown", "tex": "LaTeX", "tsv": "TSV", "png": "PNG", "pdf": "PDF"}


def sound_report(path):
    """A sound certification (``certify/<model>/<mode>.tsv``) as a report item."""
    return report(path, caption="../report/sound.rst", category="Sound certificates",
                  labels={"model": "{model}", "file": path.rpartition("/")[2]})
