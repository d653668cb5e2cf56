"""Data: make the configured data set available before anything trains or certifies on it."""


rule download_cifar10:
    """Download CIFAR-10 into dataset.root when dataset.download is true (torchvision checks the MD5);
    for digits this is a no-op, for the others a check that every split loads. The flag lists the
    split sizes; rules that read the data depend on it."""
    input:
        code=package_code("download_cifar10.py"),
    output:
        flag=result("data", "dataset.ready"),
    log:
        script_log("data", "download_cifar10.log"),
    params:
        # test_subset only chooses test images: leaving it out keeps a change from re-running training
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
    threads: 1
    retries: 2
    localrule: True
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/download_cifar10.py"
