"""The bill before the run: ``snakemake cost --configfile <config>`` (the target first); no data needed on disk."""


rule cost:
    """Forward passes and device time of every rule of the config (insta_rs.cost); writes and prints cost.md."""
    input:
        code=package_code("cost.py"),
        reference=package_data("cost/reference.yaml"),
    log:
        LAYOUT.log("cost.log"),
    params:
        **PROTOCOLS.compute,
    resources:
        gpu=GPUS,
    localrule: True
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/cost.py"
