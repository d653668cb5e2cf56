"""Training: fixed-sigma baselines (training.methods) and two-stage methods (training.two_stage): stage I, then stage
II in its own rule (without ``train.stage2`` stage I is final, Table 5). Each rule checkpoints every epoch, resumes."""


rule train_fixed_sigma:
    """A baseline trained with one sigma for every example (Cohen: gaussian, SmoothAdv, MACER, ...)."""
    input:
        data=LAYOUT.data_flag(),
        code=package_code("train_fixed_sigma.py"),
    output:
        model=LAYOUT.checkpoint("{model}"),
        history=LAYOUT.model_file("{model}", "history.tsv"),
    wildcard_constraints:
        model=one_of(PLAN.fixed_sigma_models()),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("models", "{model}", "train.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "train.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("train_fixed_sigma"),
    script:
        "../../scripts/train_fixed_sigma.py"


rule insta_stage1:
    """Insta-RS Train stage I (Algorithm 2): per-example levels updated every L epochs; their time is recorded."""
    input:
        data=LAYOUT.data_flag(),
        code=package_code("train_stage1.py"),
    output:
        model=LAYOUT.model_file("{model}", "stage1.pt"),
        history=LAYOUT.model_file("{model}", "stage1_history.tsv"),
        levels=directory(LAYOUT.training_levels("{model}")),
        timing=LAYOUT.model_file("{model}", "sigma_assignment.json"),
    wildcard_constraints:
        model=one_of(PLAN.trained_by("insta_stage1")),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("models", "{model}", "stage1.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "stage1.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("insta_stage1"),
    script:
        "../../scripts/train_stage1.py"


# PFAT stage 1: a uniform random level per example and batch (its params leave out m2 and p_max).
use rule insta_stage1 as pfat_stage1 with:
    output:
        model=LAYOUT.model_file("{model}", "stage1.pt"),
        history=LAYOUT.model_file("{model}", "stage1_history.tsv"),
    wildcard_constraints:
        model=one_of(PLAN.trained_by("pfat_stage1")),
    params:
        **PROTOCOLS.params("pfat_stage1"),


rule pfat_assign:
    """PFAT's grid assignment: every training example gets its best correct level (timed)."""
    input:
        data=LAYOUT.data_flag(),
        model=LAYOUT.model_file("{model}", "stage1.pt"),
        code=package_code("train_pfat_assign.py"),
    output:
        levels=LAYOUT.model_file("{model}", "assigned_levels.tsv"),
        timing=LAYOUT.model_file("{model}", "sigma_assignment.json"),
    wildcard_constraints:
        model=one_of(PLAN.trained_by("pfat_assign")),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("models", "{model}", "assign.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "assign.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("pfat_assign"),
    script:
        "../../scripts/train_pfat_assign.py"


rule insta_stage2:
    """Stage II: fine-tune the stage-I model (its own or train.stage1_from's) with the levels it learned."""
    input:
        data=LAYOUT.data_flag(),
        stage1=stage1_of("stage1.pt"),
        code=package_code("train_stage2.py"),
    output:
        model=LAYOUT.checkpoint("{model}"),
        history=LAYOUT.model_file("{model}", "stage2_history.tsv"),
    wildcard_constraints:
        model=one_of(PLAN.trained_by("insta_stage2")),
    resources:
        gpu=GPUS,
    log:
        LAYOUT.log("models", "{model}", "stage2.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "stage2.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("insta_stage2"),
    script:
        "../../scripts/train_stage2.py"


# PFAT stage 2: the same fine-tuning, with the levels of the grid assignment.
use rule insta_stage2 as pfat_stage2 with:
    input:
        data=LAYOUT.data_flag(),
        stage1=stage1_of("stage1.pt"),
        levels=stage1_of("assigned_levels.tsv"),
        code=package_code("train_stage2.py"),
    wildcard_constraints:
        model=one_of(PLAN.trained_by("pfat_stage2")),


rule export_stage1:
    """A two-stage model without train.stage2: its final model is the stage-I model (Table 5)."""
    input:
        stage1=stage1_of("stage1.pt"),
        code=package_code("train_export_stage1.py"),
    output:
        model=LAYOUT.checkpoint("{model}"),
    wildcard_constraints:
        model=one_of(PLAN.stage1_only_models()),
    log:
        LAYOUT.log("models", "{model}", "export.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "export.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_export_stage1.py"
