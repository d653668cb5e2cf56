"""The bill before the run: ``snakemake cost --configfile <config>`` (the target first: --configfile takes every
value after it). No data or checkpoint is needed on disk (the Snakefile skips that check for this target)."""


rule cost:
    """Forward passes and device time of every rule and every table of the config (insta_rs.cost.passes), from a short
    calibration of each architecture on this machine (insta_rs.cost.calibrate); writes results/<run>/cost.md and
    prints it. No output files, so it runs whenever it is asked for."""
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
