"""The bill before the run: ``snakemake cost --configfile <config>`` (the target first); no data needed on disk."""


rule cost:
    """Forward passes and device time of every rule of the config (insta_rs.cost); writes and prints cost.md."""
    input:
        code=package_code("cost.py"),
        reference=package_data("cost/reference.yaml"),
    log:
        LAYOUT.log("cost.log"),
    localrule: True
    conda:
        "../../envs/insta-rs.yaml"
    resources:
        gpu=GPUS,
    params:
        **PROTOCOLS.compute,
    script:
        "../../scripts/cost.py"
