"""The bill before the run: ``snakemake cost --configfile <config>`` (the target first); no data needed on disk."""


rule cost:
    """Forward passes and device time of every rule of the config (insta_rs.cost); writes and prints cost.md."""
    input:
        code=package_code("cost.py"),
        reference=package_data("cost/reference.yaml"),
    localrule: True
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("cost.log"),
    benchmark:
        LAYOUT.benchmark("cost.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.compute,
    script:
        "../../scripts/cost.py"
