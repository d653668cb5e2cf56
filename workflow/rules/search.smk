"""Noise-level search: Algorithm 1 (instance-wise FGSS) and the grid baseline per test example,
sharded like certification; Algorithm 3 (one uniform level) on the test or validation split."""


rule search_instance:
    """Choose each test example's level by FGSS or grid search on the approximate radius (Eq. 4)."""
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        code=package_code("search_instance.py"),
    output:
        tsv=sharded("search", "{model}", "{method}"),
    log:
        sharded_log("search", "{model}", "{method}"),
    benchmark:
        sharded_benchmark("search", "{model}", "{method}")
    params:
        method=lambda wildcards: wildcards.method,
        shard=shard_of,
        dataset=config["dataset"],
        noise=config["noise"],
        search=config["search"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/search_instance.py"


rule search_uniform:
    """Algorithm 3: one level for a whole split, by FGSS on ACR_hat (Eq. 5)."""
    input:
        model=result("models", "{model}", "checkpoint.pt"),
        data=result("data", "dataset.ready"),
        code=package_code("search_uniform.py"),
    output:
        tsv=result("search", "{model}", "uniform_{split}.tsv"),
    log:
        script_log("search", "{model}", "uniform_{split}.log"),
    benchmark:
        result("benchmarks", "search", "{model}", "uniform_{split}.tsv")
    params:
        split=lambda wildcards: wildcards.split,
        dataset=config["dataset"],
        noise=config["noise"],
        search=config["search"],
        certify=config["certify"],
        device=config["device"],
        precision=config["precision"],
    threads: 1  # tiny CPU models run best one thread per job, jobs side by side; profiles raise it
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/search_uniform.py"
