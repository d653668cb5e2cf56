"""Shared by the rule files (the run's protocols, layout and plan from insta_rs.workflow) and small functions.

Result paths come from ``LAYOUT``, what a run makes and reads from ``PLAN``, every rule's ``params`` (what its
result depends on, never how) from ``PROTOCOLS.params(<rule>)``."""

from insta_rs.runtime import gpu_slots
from insta_rs.runtime.device import device_kind
from insta_rs.workflow import code_deps
from insta_rs.workflow.plan import one_of
from insta_rs.workflow.protocols import Protocols
from insta_rs.workflow.sharding import certifications, sharded_steps

PROTOCOLS = Protocols.of_config(config, SCHEMA)
LAYOUT, PLAN = PROTOCOLS.layout, PROTOCOLS.plan
SHARDED = sharded_steps(PROTOCOLS)
CERTIFICATIONS = certifications(SHARDED)
# Each job runs one thread (Snakemake's default): tiny CPU models run best one job per core, and profiles raise it.
# GPU rules ask for one GPU when the device is cuda (or GPUs are simulated for tests); each job claims its own.
GPUS = int(device_kind(config["device"]) == "cuda" or gpu_slots.simulated_count() > 0)
FORMATS = {"md": "Markdown", "tex": "LaTeX", "tsv": "TSV", "png": "PNG", "pdf": "PDF"}


def package_code(script, modules=()):
    """The insta_rs sources ``scripts/<script>`` imports (and ``modules`` it loads by name): an edit re-runs the step."""
    return code_deps.code_inputs(workflow.basedir, script, modules)


def package_data(name):
    """A data file shipped in the package, as an input."""
    return code_deps.package_data(workflow.basedir, name)


def stage1_of(name):
    """Input function: a file of the stage-I model that the job's model fine-tunes (its own or stage1_from's)."""
    return lambda wildcards: LAYOUT.model_file(PLAN.stage1_source(wildcards.model), name)


def merged_shards(step):
    """Input function: the shard files a merge job of ``step`` merges, in turn (all shards of each result)."""
    return lambda wildcards: [path for shard in step.shard_patterns(wildcards) for path in gather.shard(shard)]


def report_item(path, caption, category, subcategory=None, **labels):
    """``path`` in ``snakemake --report``: captioned by ``workflow/report/<caption>.rst``, labelled with its format."""
    labels["format"] = FORMATS[path.rpartition(".")[2]]
    return report(path, caption=f"../report/{caption}.rst", category=category, subcategory=subcategory, labels=labels)


def sound_report(path):
    """A sound certification (``certify/<model>/<mode>.tsv``) as a report item."""
    return report_item(path, "sound", "Sound certificates", model="{model}", file=path.rpartition("/")[2])
