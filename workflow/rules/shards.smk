"""Merging the shards of a search or certification, in test-subset order, in Snakemake's own process. Every
such result is made by a merge, whatever the shard count (one shard included); the merge tracks the same
params as the jobs it merges, and shard files are temporary, so a result's recorded provenance does not depend
on how many shards made it: changing the shard count re-runs nothing. The tracked settings are one param,
``tracked``, so that a merge derived with ``use rule`` replaces its parent's whole (Snakemake merges params key
by key: the search's merge would otherwise also track the certification's settings).
"""

from insta_rs.io import merge_shards



rule merge_levels:
    """The level files of a ``certify_levels`` sweep from its shards."""
    input:
        shards=shards_of(lambda wildcards: LAYOUT.levels(wildcards.model, len(LEVELS)), CERTIFY),
    output:
        tsv=[LAYOUT.level("{model}", level) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "levels", "merge.log"),
    wildcard_constraints:
        model=one_of(PLAN.swept_models()),
    params:
        tracked=lambda wildcards: {"levels": LEVELS, "readings": level_readings(wildcards), **CERTIFY},
    localrule: True
    run:
        merge_shards(list(input.shards), list(output), log[0])


use rule merge_levels as merge_validation with:
    input:
        shards=shards_of(lambda wildcards: LAYOUT.validation_levels(wildcards.model, len(LEVELS)),
                         VALIDATION_CERTIFY),
    output:
        tsv=[LAYOUT.validation_level("{model}", level) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "validation", "merge.log"),
    wildcard_constraints:
        model=one_of(list(config["models"])),
    params:
        tracked={"levels": LEVELS, "split": "validation", **VALIDATION_CERTIFY},


use rule merge_levels as merge_level with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.level(wildcards.model, wildcards.level)], CERTIFY),
    output:
        tsv=LAYOUT.level("{model}", "{level}"),
    log:
        LAYOUT.log("certify", "{model}", "level{level}", "merge.log"),
    wildcard_constraints:
        model=one_of([model for model in config["models"] if model not in PLAN.swept_models()]),
    params:
        tracked=lambda wildcards: {"levels": [int(wildcards.level)], "readings": level_readings(wildcards), **CERTIFY},


use rule merge_levels as merge_assigned with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.assigned(wildcards.model, wildcards.assignment)], CERTIFY),
    output:
        tsv=LAYOUT.assigned("{model}", "{assignment}"),
    log:
        LAYOUT.log("certify", "{model}", "search_{assignment}", "merge.log"),
    wildcard_constraints:
        assignment=r"fgss|grid|knn",
    params:
        tracked=CERTIFY,


use rule merge_levels as merge_search with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.search(wildcards.model, wildcards.method)], SEARCH),
    output:
        tsv=LAYOUT.search("{model}", "{method}"),
    log:
        LAYOUT.log("search", "{model}", "{method}", "merge.log"),
    wildcard_constraints:
        method=r"fgss|grid",
    params:
        tracked=SEARCH,


use rule merge_levels as merge_selector with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.selector_certification(wildcards.model)], SELECTOR_CERTIFY),
    output:
        tsv=LAYOUT.selector_certification("{model}"),
    log:
        LAYOUT.log("certify", "{model}", "selector", "merge.log"),
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    params:
        tracked=SELECTOR_CERTIFY,
