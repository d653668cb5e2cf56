"""Certification (Cohen et al. CERTIFY) of the test subset, sharded over ``certify.shards`` jobs.

Each shard resumes where an interrupted run stopped; shards merge in test-subset order.
"""


rule certify_level:
    """Certify every test example at the fixed level ``sigma_k = sqrt(k) * sigma0``."""
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        code=package_code("certify_run", "smoothing", "noise", "stats", "steps", "data", "models"),
    output:
        tsv=result("certify", "{model}", "shards", "level{level}", "{scatteritem}.tsv"),
    log:
        script_log("certify", "{model}", "level{level}", "{scatteritem}.log"),
    benchmark:
        result("benchmarks", "certify", "{model}", "level{level}", "{scatteritem}.tsv")
    params:
        level=lambda wildcards: int(wildcards.level),
        shard=lambda wildcards: wildcards.scatteritem,
        sigma0=config["noise"]["sigma0"],
        dataset=config["dataset"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 2
    resources:
        gpu=1,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/certify.py"


rule certify_assigned:
    """Certify every test example at its own sigma from an assignment TSV (a search's result)."""
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        assignment=result("search", "{model}", "{assignment}.tsv"),
        code=package_code("certify_run", "smoothing", "noise", "stats", "steps", "data", "models"),
    output:
        tsv=result("certify", "{model}", "shards", "search_{assignment}", "{scatteritem}.tsv"),
    log:
        script_log("certify", "{model}", "search_{assignment}", "{scatteritem}.log"),
    benchmark:
        result("benchmarks", "certify", "{model}", "search_{assignment}", "{scatteritem}.tsv")
    params:
        shard=lambda wildcards: wildcards.scatteritem,
        dataset=config["dataset"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 2
    resources:
        gpu=1,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/certify.py"


rule merge_shards:
    """Concatenate the shards of one certification or search in test-subset order."""
    input:
        shards=lambda wildcards: gather.shard(
            result(wildcards.stage, wildcards.model, "shards", wildcards.name, "{scatteritem}.tsv")
        ),
    output:
        tsv=result("{stage}", "{model}", "{name}.tsv"),
    log:
        script_log("{stage}", "{model}", "{name}.merge.log"),
    localrule: True
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/merge_shards.py"
