"""Certification (Cohen et al. CERTIFY) of the test subset, sharded over ``certify.shards`` jobs, each resuming
where an interrupted run stopped (merged in shards.smk); the validation split's levels; the collapse guard."""


rule certify_assigned:
    """Certify every test example at its own sigma from an assignment TSV (a search's result)."""
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        assignment=LAYOUT.search("{model}", "{assignment}"),
        code=package_code("certify.py"),
    output:
        tsv=sharded(LAYOUT.assigned("{model}", "{assignment}"), PROTOCOLS.certify),
    log:
        LAYOUT.log("certify", "{model}", "search_{assignment}", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "search_{assignment}", "{scatteritem}.tsv")
    wildcard_constraints:
        assignment=one_of(PLAN.assignments()),
    conda:
        "../../envs/insta-rs.yaml"
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    params:
        **PROTOCOLS.params("certify_assigned"),
    script:
        "../../scripts/certify.py"


# Every level of the models whose every level is read (PLAN.swept_models), the model loaded once.
use rule certify_assigned as certify_levels with:
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        code=package_code("certify.py"),
    output:
        tsv=[sharded(LAYOUT.level("{model}", level), PROTOCOLS.certify) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "levels", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "levels", "{scatteritem}.tsv")
    wildcard_constraints:
        model=one_of(PLAN.swept_models()),
    params:
        **PROTOCOLS.params("certify_levels"),


# One level of a model whose other levels nobody reads (e.g. ImageNet's Table 4 without companions).
use rule certify_levels as certify_level with:
    output:
        tsv=sharded(LAYOUT.level("{model}", "{level}"), PROTOCOLS.certify),
    log:
        LAYOUT.log("certify", "{model}", "level{level}", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "level{level}", "{scatteritem}.tsv")
    wildcard_constraints:
        model=one_of(PLAN.single_level_models()),
        level=r"\d+",
    params:
        **PROTOCOLS.params("certify_level"),


# Every level on the validation split (validation_best, the collapse guard): its own noise seed.
use rule certify_levels as certify_validation with:
    output:
        tsv=[sharded(LAYOUT.validation_level("{model}", level), PROTOCOLS.validation_certify) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "validation", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "validation", "{scatteritem}.tsv")
    wildcard_constraints:
        model=one_of(list(config["models"])),
    params:
        **PROTOCOLS.params("certify_validation"),


rule collapse_guard:
    """The levels whose certified validation predictions collapse onto few classes (insta_rs.collapse)."""
    input:
        levels=lambda wildcards: PLAN.collapse_guard_inputs(wildcards.model),
        code=package_code("collapse_guard.py"),
    output:
        tsv=LAYOUT.collapse_guard("{model}"),
    log:
        LAYOUT.log("certify", "{model}", "collapse_guard.log"),
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("collapse_guard"),
    script:
        "../../scripts/collapse_guard.py"
