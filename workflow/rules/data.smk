"""Data: make the configured data set available before anything trains or certifies on it."""


rule prepare_data:
    """Check that every split of the configured data set loads (for CIFAR-10 with dataset.download: true,
    download it into dataset.root first; torchvision checks the MD5) and write the split sizes. Rules that
    read the data depend on the flag. Retried only when it downloads."""
    input:
        code=package_code("prepare_data.py"),
    output:
        flag=LAYOUT.data_flag(),
    log:
        LAYOUT.log("data", "prepare_data.log"),
    params:
        # test_subset only chooses test images: leaving it out keeps a change from re-running training
        **PROTOCOLS.params("prepare_data"),
    retries: 2 if config["dataset"].get("download") else 0
    localrule: True
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/prepare_data.py"
