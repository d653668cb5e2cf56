"""Data: make the configured data set available before anything trains or certifies on it."""


rule prepare_data:
    """Check that every split of the data set loads (downloading CIFAR-10 first with dataset.download: true)."""
    input:
        code=package_code("prepare_data.py"),
    output:
        flag=LAYOUT.data_flag(),
    retries: 2 if config["dataset"].get("download") else 0
    localrule: True
    log:
        LAYOUT.log("data", "prepare_data.log"),
    benchmark:
        LAYOUT.benchmark("data", "prepare_data.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("prepare_data"),
    script:
        "../../scripts/prepare_data.py"
