"""Certification (Cohen et al. CERTIFY) of the test subset, sharded over ``certify.shards`` jobs.

Each shard resumes where an interrupted run stopped; shards merge in test-subset order (shards.smk).
"""


rule certify_levels:
    """Certify every test example at every level ``sigma_k = sqrt(k) * sigma0``, one file per level
    (one job loads the model once for the whole sweep), for the models whose every level is read."""
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
        model=one_of([model for model in config["models"] if model not in PLAN.swept_models()]),
        level=r"\d+",
    output:
        tsv=sharded(LAYOUT.level("{model}", "{level}"), PROTOCOLS.certify),
    log:
        LAYOUT.log("certify", "{model}", "level{level}", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "level{level}", "{scatteritem}.tsv")
    params:
        **PROTOCOLS.params("certify_level"),


# Every level on the validation split, for the single sigma chosen there with the validation labels (the
# companion row validation_best): sharded like the test set's, its own noise seed.
use rule certify_levels as certify_validation with:
    wildcard_constraints:
        model=one_of(list(config["models"])),
    output:
        tsv=[sharded(LAYOUT.validation_level("{model}", level), PROTOCOLS.validation_certify) for level in LEVELS],
    log:
        LAYOUT.log("certify", "{model}", "validation", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "validation", "{scatteritem}.tsv")
    params:
        **PROTOCOLS.params("certify_validation"),


rule collapse_guard:
    """The levels the project's own choices leave out for a model: those whose certified predictions on the
    validation split collapse onto few classes (insta_rs.collapse; analysis.collapse_guard)."""
    input:
        levels=lambda wildcards: PLAN.collapse_guard_inputs(wildcards.model),
        code=package_code("collapse_guard.py"),
    output:
        tsv=LAYOUT.collapse_guard("{model}"),
    log:
        LAYOUT.log("certify", "{model}", "collapse_guard.log"),
    params:
        **PROTOCOLS.params("collapse_guard"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/collapse_guard.py"


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
        assignment=r"fgss|grid|knn",
    params:
        **PROTOCOLS.params("certify_assigned"),
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/certify.py"
