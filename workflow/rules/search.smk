"""Noise-level search per test example (insta_rs.search.registry), sharded; Algorithm 3 on a whole split."""


rule search_instance:
    """Choose each test example's level by FGSS or grid search on the approximate radius (Eq. 4)."""
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        code=package_code("search_instance.py"),
    output:
        tsv=sharded(LAYOUT.search("{model}", "{method}"), PROTOCOLS.search),
    log:
        LAYOUT.log("search", "{model}", "{method}", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("search", "{model}", "{method}", "{scatteritem}.tsv")
    wildcard_constraints:
        method=one_of(SEARCH_METHODS),
    conda:
        "../../envs/insta-rs.yaml"
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
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
    log:
        LAYOUT.log("search", "{model}", "uniform_{split}.log"),
    benchmark:
        LAYOUT.benchmark("search", "{model}", "uniform_{split}.tsv")
    wildcard_constraints:
        split=r"test|validation",
    conda:
        "../../envs/insta-rs.yaml"
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    params:
        **PROTOCOLS.params("search_uniform"),
    script:
        "../../scripts/search_uniform.py"
