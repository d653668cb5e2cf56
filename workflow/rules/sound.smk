"""Sound certificates (config ``sound``): every mode's certificate in one rule (insta_rs.sound.modes), what modes read
beyond the level certifications (the kNN sigma; Dual RS's selector: its labels and training, certified in
certify.smk), the exact counterexample, the audit."""

from insta_rs.sound.modes import SOUND_MODES, audited_modules, module_name


rule sound_certificate:
    """A sound mode's certificate from the results its registry entry reads, with its settings (insta_rs.sound.modes)."""
    input:
        unpack(lambda wildcards: PLAN.sound_inputs(wildcards.model, wildcards.mode)),
        code=lambda wildcards: package_code("sound_certificate.py", [module_name(SOUND_MODES[wildcards.mode].module)]),
    output:
        tsv=sound_report(LAYOUT.sound("{model}", "{mode}")),
    wildcard_constraints:
        mode=one_of(SOUND_MODES),
    log:
        LAYOUT.log("sound", "{model}", "{mode}.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "{mode}.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("sound_certificate"),
    script:
        "../../scripts/sound_certificate.py"


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
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("sound_knn_sigma"),
    script:
        "../../scripts/sound_knn_sigma.py"


rule sound_falsify:
    """Exact counterexample: two points closer than the Insta-RS radius with different deployed answers."""
    input:
        code=package_code("sound_falsify.py"),
    output:
        md=report_item(LAYOUT.table("falsification", "md"), "falsification", "Tables", "falsification"),
    log:
        LAYOUT.log("sound", "falsification.log"),
    benchmark:
        LAYOUT.benchmark("sound", "falsification.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("sound_falsify"),
    script:
        "../../scripts/sound_falsify.py"


rule sound_audit:
    """Search inputs within the claimed radii for other answers of the deployed classifier, per model and mode."""
    input:
        **PLAN.audit_inputs(),
        code=package_code("sound_audit.py", audited_modules()),
    output:
        tsv=LAYOUT.table("audit", "tsv"),
        md=report_item(LAYOUT.table("audit", "md"), "audit", "Tables", "audit"),
        details=LAYOUT.table("audit_examples", "tsv"),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("sound", "audit.log"),
    benchmark:
        LAYOUT.benchmark("sound", "audit.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("sound_audit"),
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
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("sound", "{model}", "dual_labels.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "dual_labels.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("dual_labels"),
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
    wildcard_constraints:
        model=one_of(PLAN.dual_models()),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("sound", "{model}", "dual_selector.log"),
    benchmark:
        LAYOUT.benchmark("sound", "{model}", "dual_selector.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("dual_selector"),
    script:
        "../../scripts/train_selector.py"
