"""Merges of a search's or certification's shards in test-subset order, whatever the shard count: each tracks its
jobs' params as one param, ``tracked``, checks the shards' seals and seals what it writes (integrity.merge_step)."""

from insta_rs.workflow.integrity import merge_step


rule merge_levels:
    """The level files of a ``certify_levels`` sweep from its shards."""
    input:
        shards=shards_of(lambda wildcards: LAYOUT.levels(wildcards.model, len(LEVELS)), PROTOCOLS.certify),
    output:
        tsv=[LAYOUT.level("{model}", level) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "levels", "merge.log"),
    wildcard_constraints:
        model=one_of(PLAN.swept_models()),
    localrule: True
    params:
        **PROTOCOLS.params("merge_levels"),
    run:
        merge_step(list(input.shards), list(output), log[0], PROTOCOLS, params.tracked, rule)


use rule merge_levels as merge_validation with:
    input:
        shards=shards_of(
            lambda wildcards: LAYOUT.validation_levels(wildcards.model, len(LEVELS)), PROTOCOLS.validation_certify
        ),
    output:
        tsv=[LAYOUT.validation_level("{model}", level) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "validation", "merge.log"),
    wildcard_constraints:
        model=one_of(list(config["models"])),
    params:
        **PROTOCOLS.params("merge_validation"),


use rule merge_levels as merge_level with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.level(wildcards.model, wildcards.level)], PROTOCOLS.certify),
    output:
        tsv=LAYOUT.level("{model}", "{level}"),
    log:
        LAYOUT.log("certify", "{model}", "level{level}", "merge.log"),
    wildcard_constraints:
        model=one_of(PLAN.single_level_models()),
    params:
        **PROTOCOLS.params("merge_level"),


use rule merge_levels as merge_assigned with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.assigned(wildcards.model, wildcards.assignment)], PROTOCOLS.certify),
    output:
        tsv=LAYOUT.assigned("{model}", "{assignment}"),
    log:
        LAYOUT.log("certify", "{model}", "search_{assignment}", "merge.log"),
    wildcard_constraints:
        assignment=one_of(PLAN.assignments()),
    params:
        **PROTOCOLS.params("merge_assigned"),


use rule merge_levels as merge_search with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.search(wildcards.model, wildcards.method)], PROTOCOLS.search),
    output:
        tsv=LAYOUT.search("{model}", "{method}"),
    log:
        LAYOUT.log("search", "{model}", "{method}", "merge.log"),
    wildcard_constraints:
        method=one_of(SEARCH_METHODS),
    params:
        **PROTOCOLS.params("merge_search"),


use rule merge_levels as merge_selector with:
    input:
        shards=shards_of(lambda wildcards: [LAYOUT.selector_certification(wildcards.model)], PROTOCOLS.selector_certify),
    output:
        tsv=LAYOUT.selector_certification("{model}"),
    log:
        LAYOUT.log("certify", "{model}", "selector", "merge.log"),
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    params:
        **PROTOCOLS.params("merge_selector"),
