"""Sound certificates beside the paper's per-instance radius (config ``sound``): the cascade over the levels,
the semi-elastic kNN sigma, the exact counterexample to the Insta-RS radius, and the empirical audit.
See docs/what-the-numbers-mean.md."""

from insta_rs.sound.modes import knn_meta_path
from insta_rs.tables import level_paths


rule sound_cascade:
    """Cascade certificate (Jeong & Shin 2023) from the fixed-level certifications, alpha/K per level."""
    input:
        levels=lambda wildcards: level_paths(RESULTS, wildcards.model, len(LEVELS)),
        code=package_code("sound_cascade.py"),
    output:
        tsv=result("certify", "{model}", "cascade.tsv"),
    log:
        script_log("sound", "{model}", "cascade.log"),
    params:
        p0=config["sound"]["cascade"]["p0"],
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_cascade.py"


rule sound_knn_sigma:
    """Per-example sigma = sigma_b exp(r (kNN distance - m)) from the training set (Sukenik et al. 2022)."""
    input:
        code=package_code("sound_knn_sigma.py"),
    output:
        tsv=result("search", "{model}", "knn.tsv"),
        meta=result("search", "{model}", "knn.json"),
    log:
        script_log("sound", "{model}", "knn_sigma.log"),
    benchmark:
        result("benchmarks", "sound", "{model}", "knn_sigma.tsv")
    params:
        dataset=config["dataset"],
        semi_elastic=config["sound"]["semi_elastic"],
    threads: 1  # measured: these jobs keep less than one core busy
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_knn_sigma.py"


rule sound_semi_elastic:
    """Semi-elastic radii (noncentral chi-square bound) for the certification at the kNN sigma."""
    input:
        tsv=result("certify", "{model}", "search_knn.tsv"),
        meta=result("search", "{model}", "knn.json"),
        code=package_code("sound_semi_elastic.py"),
    output:
        tsv=result("certify", "{model}", "semi_elastic.tsv"),
    log:
        script_log("sound", "{model}", "semi_elastic.log"),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_semi_elastic.py"


rule sound_falsify:
    """Exact counterexample: two points closer than the Insta-RS radius with different deployed answers."""
    input:
        code=package_code("sound_falsify.py"),
    output:
        md=result("tables", "falsification.md"),
    log:
        script_log("sound", "falsification.log"),
    params:
        falsify=config["sound"]["falsify"],
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_falsify.py"


rule sound_audit:
    """Search inputs within the claimed radii for other answers of the deployed classifier, per model and mode."""
    input:
        models=[result("models", model, "checkpoint.pt") for model in config["sound"]["audit"]["models"]],
        certifications=audit_certifications(),
        knn=[knn_meta_path(RESULTS, model) for model in config["sound"]["audit"]["models"]
             if "semi_elastic" in config["sound"]["audit"]["modes"]],
        code=package_code("sound_audit.py"),
    output:
        tsv=result("tables", "audit.tsv"),
        md=result("tables", "audit.md"),
        details=result("tables", "audit_examples.tsv"),
    log:
        script_log("sound", "audit.log"),
    benchmark:
        result("benchmarks", "sound", "audit.tsv")
    params:
        audit=config["sound"]["audit"],
        cascade=config["sound"]["cascade"],
        semi_elastic=config["sound"]["semi_elastic"],
        noise=config["noise"],
        search=config["search"],
        certify=config["certify"],
        dataset=config["dataset"],
        device=config["device"],
        precision=config["precision"],
    threads: 1  # measured: these jobs keep less than one core busy
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_audit.py"
