"""Helpers shared by the rule files (result paths, model lists, the package code a step imports).

This file defines functions only (no rules), as the Snakemake linter expects of shared code.
"""

import os
import re

from insta_rs.code_deps import package_sources
from insta_rs.config_check import check_config
from insta_rs.sound.modes import certification_path

check_config(config)

RESULTS = f"results/{config['run']}"
LEVELS = list(range(1, config["noise"]["n_levels"] + 1))
# GPU rules ask for one GPU unless the run is pinned to the CPU; the default profile caps the global
# `gpu` resource at 1 so that GPU jobs never share a device, while CPU runs stay parallel.
GPUS = 0 if config["device"] == "cpu" else 1
# Jobs per search or certification of the test subset (certify.shards, or --set-scatter shard=K).
SHARDS = len(gather.shard("{scatteritem}"))


def result(*parts):
    """Path of a result file under results/<run>/."""
    return "/".join([RESULTS, *parts])


def package_code(script):
    """Source files of the insta_rs modules that ``scripts/<script>`` imports, directly or through other
    modules, declared as inputs so that an edit re-runs the step.

    A cosmetic edit can be accepted without recomputing: ``snakemake --touch`` (see README).
    """
    return list(package_sources(os.path.join(workflow.basedir, "scripts", script),
                                os.path.join(workflow.basedir, "src", "insta_rs")))


def sharded(stage, model, name):
    """Where a sharded job writes its share of ``<stage>/<model>/<name>.tsv``: the file itself when
    there is one shard (no merge job), else shard ``{scatteritem}``, merged by ``merge_shards``."""
    if SHARDS == 1:
        return result(stage, model, f"{name}.tsv")
    return result(stage, model, "shards", name, "{scatteritem}.tsv")


def shard_of(wildcards):
    """The ``i-of-K`` shard a job covers (``1-of-1`` without sharding)."""
    return wildcards.get("scatteritem", "1-of-1")


def _shard_file(ext):
    return ("{scatteritem}." if SHARDS > 1 else "all.") + ext


def sharded_log(*parts):
    """Log path of a sharded job."""
    return script_log(*parts, _shard_file("log"))


def sharded_benchmark(*parts):
    """Benchmark TSV path of a sharded job."""
    return result("benchmarks", *parts, _shard_file("tsv"))


def package_data(name):
    """A data file shipped in the package (e.g. the paper's numbers), declared as an input."""
    return os.path.join(workflow.basedir, "src", "insta_rs", name)


def script_log(*parts):
    """Log file path for a job, under results/<run>/logs/."""
    return result("logs", *parts)


def models_with(key):
    """Names of the configured models whose entry has ``key`` (``train`` or ``pretrained``)."""
    return [name for name, entry in config["models"].items() if key in entry]


def one_of(names):
    """A wildcard regex matching exactly one of ``names`` (never matches when the list is empty)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def audit_certifications():
    """The certifications the audit checks: every ``sound.audit.modes`` of every ``sound.audit.models``."""
    audit = config["sound"]["audit"]
    return [certification_path(RESULTS, model, mode) for model in audit["models"] for mode in audit["modes"]]


def sound_targets():
    """Sound certificates of ``sound.models``, the exact counterexample, and the audit when configured."""
    sound = config["sound"]
    targets = [result("certify", model, f"{mode}.tsv") for model in sound["models"] for mode in sound["modes"]]
    targets.append(result("tables", "falsification.md"))
    if sound["audit"]["models"]:
        targets.append(result("tables", "audit.md"))
    return targets


def final_targets():
    """The targets of the default rule: the configured tables and figures, and the sound companions."""
    return analysis_targets() + sound_targets()
