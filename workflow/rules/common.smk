"""Shared by the rule files (the run's layout, plan and protocols, the code a step imports).

Functions and constants only (no rules), as the Snakemake linter expects of shared code. Every result path
comes from ``LAYOUT`` (insta_rs.layout); what a run makes and what each target reads from ``PLAN``
(insta_rs.workflow.plan); every rule's ``params`` from ``PROTOCOLS.params(<rule>)`` (insta_rs.workflow.protocols): what its result
depends on (the protocol), never how it is computed. The config keys marked ``how: true`` in the schema (batch
sizes, shards, locations, the device index) are read by the scripts from ``snakemake.config`` and re-run nothing.
"""

import os
import re

from insta_rs.runtime import gpu_slots
from insta_rs.workflow.code_deps import package_sources
from insta_rs.runtime.device import device_kind
from insta_rs.layout import protocol_key
from insta_rs.workflow.protocols import Protocols

# What every job computes (its params) and every result's protocol: insta_rs.workflow.protocols, from the config alone.
PROTOCOLS = Protocols.of_config(config, os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"))
LAYOUT = PROTOCOLS.layout
PLAN = PROTOCOLS.plan
LEVELS = PLAN.all_levels
DUAL = config["sound"]["dual"]
# GPU rules ask for one GPU when the device kind is cuda (or when GPUs are simulated for tests); the Snakefile sets
# the global `gpu` resource to the machine's visible GPUs and each job claims a device of its own
# (insta_rs.runtime.gpu_slots), while CPU jobs run beside them.
GPUS = int(device_kind(config["device"]) == "cuda" or gpu_slots.simulated_count() > 0)


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
