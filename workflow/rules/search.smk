"""Noise-level search per test example (insta_rs.search.registry), sharded; Algorithm 3 on a whole split."""

# Its shards, logs and merge: insta_rs.workflow.sharding.
INSTANCE_SEARCH = SHARDED["search_instance"]


rule search_instance:
    """Choose each test example's level by FGSS or grid search on the approximate radius (Eq. 4)."""
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        code=package_code("search_instance.py"),
    output:
        tsv=temp(INSTANCE_SEARCH.shards),
    wildcard_constraints:
        **INSTANCE_SEARCH.wildcards,
    resources:
        gpu=GPUS,
    log:
        INSTANCE_SEARCH.log,
    benchmark:
        INSTANCE_SEARCH.benchmark
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("search_instance"),
    script:
        "../../scripts/search_instance.py"


rule search_uniform:
    """Algorithm 3: one level for a whole split, by FGSS on ACR_hat (Eq. 5)."""
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        guard=lambda wildcards: [LAYOUT.collapse_guard(wildcards.model)] if wildcards.split == "validation" else [],
        code=package_code("search_uniform.py"),
    output:
        tsv=LAYOUT.uniform("{model}", "{split}"),
    wildcard_constraints:
        split=r"test|validation",
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("search", "{model}", "uniform_{split}.log"),
    benchmark:
        LAYOUT.benchmark("search", "{model}", "uniform_{split}.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("search_uniform"),
    script:
        "../../scripts/search_uniform.py"
