"""Certification (Cohen et al. CERTIFY) of the test subset, sharded over ``certify.shards`` jobs.

Each shard resumes where an interrupted run stopped; shards merge in test-subset order.
"""

from pathlib import Path

from insta_rs.io import merge_tsvs


rule certify_levels:
    """Certify every test example at every level ``sigma_k = sqrt(k) * sigma0``, one file per level
    (one job loads the model once for the whole sweep), for the models whose every level is read."""
    wildcard_constraints:
        model=one_of(swept_models()),
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        code=package_code("certify.py"),
    output:
        tsv=[sharded("certify", "{model}", f"level{level}") for level in LEVELS],
    log:
        sharded_log("certify", "{model}", "levels"),
    benchmark:
        sharded_benchmark("certify", "{model}", "levels")
    params:
        levels=LEVELS,
        shard=shard_of,
        sigma0=config["noise"]["sigma0"],
        dataset=config["dataset"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/certify.py"


# One level of a model whose other levels nobody reads (e.g. ImageNet's Table 4 without companions).
use rule certify_levels as certify_level with:
    wildcard_constraints:
        model=one_of([model for model in config["models"] if model not in swept_models()]),
    output:
        tsv=sharded("certify", "{model}", "level{level}"),
    log:
        sharded_log("certify", "{model}", "level{level}"),
    benchmark:
        sharded_benchmark("certify", "{model}", "level{level}")
    params:
        levels=lambda wildcards: [int(wildcards.level)],  # the other params are certify_levels'


rule certify_assigned:
    """Certify every test example at its own sigma from an assignment TSV (a search's result)."""
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        assignment=result("search", "{model}", "{assignment}.tsv"),
        code=package_code("certify.py"),
    output:
        tsv=sharded("certify", "{model}", "search_{assignment}"),
    log:
        sharded_log("certify", "{model}", "search_{assignment}"),
    benchmark:
        sharded_benchmark("certify", "{model}", "search_{assignment}")
    params:
        shard=shard_of,
        dataset=config["dataset"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/certify.py"


if SHARDS > 1:

    rule merge_shards:
        """Concatenate the shards of one certification or search in test-subset order (in-process)."""
        input:
            shards=lambda wildcards: gather.shard(
                result(wildcards.stage, wildcards.model, "shards", wildcards.name, "{scatteritem}.tsv")
            ),
        output:
            tsv=result("{stage}", "{model}", "{name}.tsv"),
        log:
            script_log("{stage}", "{model}", "{name}.merge.log"),
        localrule: True
        run:
            merge_tsvs(input.shards, output.tsv)
            Path(log[0]).write_text(f"merged {len(input.shards)} shards into {output.tsv}\n")
