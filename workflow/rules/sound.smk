"""Sound certificates (config ``sound``): the cascade, the semi-elastic kNN sigma, the exact counterexample, the audit,
and Dual RS in four rules (the selector's labels, training and certification, the certificate)."""


rule sound_cascade:
    """Cascade certificate (Jeong & Shin 2023) from the fixed-level certifications, alpha/K per level."""
    input:
        levels=lambda wildcards: LAYOUT.levels(wildcards.model, len(LEVELS)),
        guard=LAYOUT.collapse_guard("{model}"),
        code=package_code("sound_cascade.py"),
    output:
        tsv=sound_report(LAYOUT.sound("{model}", "cascade")),
    log:
        LAYOUT.log("sound", "{model}", "cascade.log"),
    params:
        **PROTOCOLS.params("sound_cascade"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_cascade.py"


rule sound_knn_sigma:
    """Per-example sigma = sigma_b exp(r (kNN distance - m)) from the training set (Sukenik et al. 2022)."""
    input:
        data=LAYOUT.data_flag(),
        guard=LAYOUT.collapse_guard("{model}"),
        code=package_code("sound_knn_sigma.py"),
    output:
        tsv=LAYOUT.search("{model}", "knn"),
        meta=LAYOUT.knn_meta("{model}"),
    log:
        LAYOUT.log("sound", "{model}", "knn_sigma.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "knn_sigma.tsv")
    params:
        **PROTOCOLS.params("sound_knn_sigma"),
    threads: 1  # measured: these jobs keep less than one core busy
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_knn_sigma.py"


rule sound_semi_elastic:
    """Semi-elastic radii (noncentral chi-square bound) for the certification at the kNN sigma."""
    input:
        tsv=LAYOUT.assigned("{model}", "knn"),
        meta=LAYOUT.knn_meta("{model}"),
        code=package_code("sound_semi_elastic.py"),
    output:
        tsv=sound_report(LAYOUT.sound("{model}", "semi_elastic")),
    log:
        LAYOUT.log("sound", "{model}", "semi_elastic.log"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_semi_elastic.py"


rule sound_falsify:
    """Exact counterexample: two points closer than the Insta-RS radius with different deployed answers."""
    input:
        code=package_code("sound_falsify.py"),
    output:
        md=report(LAYOUT.table("falsification", "md"), caption="../report/falsification.rst", category="Tables",
                  subcategory="falsification", labels={"table": "falsification", "format": "Markdown"}),
    log:
        LAYOUT.log("sound", "falsification.log"),
    params:
        **PROTOCOLS.params("sound_falsify"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_falsify.py"


rule sound_audit:
    """Search inputs within the claimed radii for other answers of the deployed classifier, per model and mode."""
    input:
        **PLAN.audit_inputs(),
        code=package_code("sound_audit.py"),
    output:
        tsv=LAYOUT.table("audit", "tsv"),
        md=report(LAYOUT.table("audit", "md"), caption="../report/audit.rst", category="Tables",
                  subcategory="audit", labels={"table": "audit", "format": "Markdown"}),
        details=LAYOUT.table("audit_examples", "tsv"),
    log:
        LAYOUT.log("sound", "audit.log"),
    benchmark:
        LAYOUT.benchmark("sound", "audit.tsv")
    params:
        **PROTOCOLS.params("sound_audit"),
    threads: 1  # measured: these jobs keep less than one core busy
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_audit.py"


rule dual_labels:
    """Dual RS: each training example's best candidate level by the radius estimated with its label."""
    input:
        model=LAYOUT.checkpoint("{model}"),
        data=LAYOUT.data_flag(),
        guard=LAYOUT.collapse_guard("{model}"),
        code=package_code("dual_labels.py"),
    output:
        labels=LAYOUT.model_file("{model}", "selector_labels.tsv"),
    log:
        LAYOUT.log("sound", "{model}", "dual_labels.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "dual_labels.tsv")
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    params:
        **PROTOCOLS.params("dual_labels"),
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/dual_labels.py"


rule dual_selector:
    """Dual RS: train the sigma selector on the labelled training examples at its own sigma_sel."""
    input:
        labels=LAYOUT.model_file("{model}", "selector_labels.tsv"),
        data=LAYOUT.data_flag(),
        code=package_code("train_selector.py"),
    output:
        model=LAYOUT.model_file("{model}", "selector.pt"),
        history=LAYOUT.model_file("{model}", "selector_history.tsv"),
    log:
        LAYOUT.log("sound", "{model}", "dual_selector.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "dual_selector.tsv")
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    params:
        **PROTOCOLS.params("dual_selector"),
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_selector.py"


use rule certify_assigned as certify_selector with:
    """Dual RS: CERTIFY the smoothed selector (sigma_sel, its share of alpha, its seed); radius R_sel."""
    input:
        model=LAYOUT.model_file("{model}", "selector.pt"),
        data=LAYOUT.data_flag(),
        code=package_code("certify.py"),
    output:
        tsv=sharded(LAYOUT.selector_certification("{model}"), PROTOCOLS.selector_certify),
    log:
        LAYOUT.log("certify", "{model}", "selector", "{scatteritem}.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "selector", "{scatteritem}.tsv")
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    params:
        **PROTOCOLS.params("certify_selector"),


rule sound_dual:
    """Dual RS: the classifier at the selector's candidate, re-certified at the rest of alpha; min(R_sel, R_cls)."""
    input:
        selector=LAYOUT.selector_certification("{model}"),
        levels=lambda wildcards: PLAN.dual_levels(wildcards.model),
        code=package_code("sound_dual.py"),
    output:
        tsv=sound_report(LAYOUT.sound("{model}", "dual")),
    log:
        LAYOUT.log("sound", "{model}", "dual.log"),
    params:
        **PROTOCOLS.params("sound_dual"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/sound_dual.py"
