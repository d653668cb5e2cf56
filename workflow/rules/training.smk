"""Training: fixed-sigma baselines (Cohen, SmoothAdv, MACER), Insta-RS Train (Algorithm 2) and PFAT.

Two-stage models train stage I, then fine-tune in stage II, in separate rules, so a changed stage-II
setting never retrains stage I; ``train.stage1_from: <model>`` reuses another model's stage I, and a
model without ``train.stage2`` is that stage-I model itself ("without fine-tuning", Table 5). Every rule
checkpoints each epoch to ``<output>.partial`` beside its output and resumes from it when re-run.
"""


rule train_fixed_sigma:
    """A baseline trained with one sigma for every example: Cohen (gaussian), SmoothAdv or MACER."""
    input:
        data=result("data", "dataset.ready"),
        code=package_code("train_fixed_sigma.py"),
    output:
        model=result("models", "{model}", "checkpoint.pt"),
        history=result("models", "{model}", "history.tsv"),
    log:
        script_log("models", "{model}", "train.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "train.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") in ("gaussian", "smoothadv", "macer")]),
    params:
        train=lambda wildcards: config["models"][wildcards.model]["train"],
        arch=lambda wildcards: config["models"][wildcards.model]["arch"],
        input_layer=lambda wildcards: config["models"][wildcards.model]["input_layer"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_fixed_sigma.py"


rule insta_stage1:
    """Insta-RS Train stage I (Algorithm 2): per-example levels, updated every L epochs, method M1.
    The levels after each update epoch go to levels/epoch_<k>.tsv; the update time to sigma_assignment.json."""
    input:
        data=result("data", "dataset.ready"),
        code=package_code("train_stage1.py"),
    output:
        model=result("models", "{model}", "stage1.pt"),
        history=result("models", "{model}", "stage1_history.tsv"),
        levels=directory(result("models", "{model}", "levels")),
        timing=result("models", "{model}", "sigma_assignment.json"),
    log:
        script_log("models", "{model}", "stage1.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "stage1.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") == "insta" and "stage1" in entry["train"]]),
    params:
        method="insta",
        stage1=lambda wildcards: config["models"][wildcards.model]["train"]["stage1"],
        arch=lambda wildcards: config["models"][wildcards.model]["arch"],
        input_layer=lambda wildcards: config["models"][wildcards.model]["input_layer"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        noise=config["noise"],
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_stage1.py"


rule insta_stage2:
    """Insta-RS Train stage II: fine-tune the stage-I model (its own or train.stage1_from's) with the
    levels it learned, method M2."""
    input:
        data=result("data", "dataset.ready"),
        stage1=lambda wildcards: result(
            "models", config["models"][wildcards.model]["train"].get("stage1_from", wildcards.model), "stage1.pt"),
        code=package_code("train_stage2.py"),
    output:
        model=result("models", "{model}", "checkpoint.pt"),
        history=result("models", "{model}", "stage2_history.tsv"),
    log:
        script_log("models", "{model}", "stage2.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "stage2.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") == "insta" and entry["train"].get("stage2")]),
    params:
        method="insta",
        stage2=lambda wildcards: config["models"][wildcards.model]["train"]["stage2"],
        arch=lambda wildcards: config["models"][wildcards.model]["arch"],
        input_layer=lambda wildcards: config["models"][wildcards.model]["input_layer"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        noise=config["noise"],
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_stage2.py"


rule pfat_stage1:
    """PFAT stage 1: each example's level drawn uniformly from 1..T for every batch."""
    input:
        data=result("data", "dataset.ready"),
        code=package_code("train_stage1.py"),
    output:
        model=result("models", "{model}", "stage1.pt"),
        history=result("models", "{model}", "stage1_history.tsv"),
    log:
        script_log("models", "{model}", "stage1.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "stage1.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") == "pfat" and "stage1" in entry["train"]]),
    params:
        method="pfat",
        # m2 and p_max only shape the grid assignment (pfat_assign): leaving them out keeps stage 1
        stage1=lambda wildcards: {key: value
                                  for key, value in config["models"][wildcards.model]["train"]["stage1"].items()
                                  if key not in ("m2", "p_max")},
        arch=lambda wildcards: config["models"][wildcards.model]["arch"],
        input_layer=lambda wildcards: config["models"][wildcards.model]["input_layer"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        noise=config["noise"],
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_stage1.py"


rule pfat_assign:
    """PFAT's grid assignment: every training example gets its best correct level (timed)."""
    input:
        data=result("data", "dataset.ready"),
        model=result("models", "{model}", "stage1.pt"),
        code=package_code("train_pfat_assign.py"),
    output:
        levels=result("models", "{model}", "assigned_levels.tsv"),
        timing=result("models", "{model}", "sigma_assignment.json"),
    log:
        script_log("models", "{model}", "assign.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "assign.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") == "pfat" and "stage1" in entry["train"]]),
    params:
        stage1=lambda wildcards: config["models"][wildcards.model]["train"]["stage1"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        noise=config["noise"],
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_pfat_assign.py"


rule pfat_stage2:
    """PFAT stage 2: fine-tune the stage-1 model with the assigned levels fixed."""
    input:
        data=result("data", "dataset.ready"),
        stage1=lambda wildcards: result(
            "models", config["models"][wildcards.model]["train"].get("stage1_from", wildcards.model), "stage1.pt"),
        levels=lambda wildcards: result(
            "models", config["models"][wildcards.model]["train"].get("stage1_from", wildcards.model),
            "assigned_levels.tsv"),
        code=package_code("train_stage2.py"),
    output:
        model=result("models", "{model}", "checkpoint.pt"),
        history=result("models", "{model}", "stage2_history.tsv"),
    log:
        script_log("models", "{model}", "stage2.log"),
    benchmark:
        result("benchmarks", "models", "{model}", "stage2.tsv")
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") == "pfat" and entry["train"].get("stage2")]),
    params:
        method="pfat",
        stage2=lambda wildcards: config["models"][wildcards.model]["train"]["stage2"],
        arch=lambda wildcards: config["models"][wildcards.model]["arch"],
        input_layer=lambda wildcards: config["models"][wildcards.model]["input_layer"],
        dataset={key: value for key, value in config["dataset"].items() if key != "test_subset"},
        noise=config["noise"],
        device=config["device"],
        precision=config["precision"],
    threads: 1
    resources:
        gpu=GPUS,
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_stage2.py"


rule export_stage1:
    """A two-stage model without train.stage2: its final model is the stage-I model (Table 5)."""
    input:
        stage1=lambda wildcards: result(
            "models", config["models"][wildcards.model]["train"].get("stage1_from", wildcards.model), "stage1.pt"),
        code=package_code("train_export_stage1.py"),
    output:
        model=result("models", "{model}", "checkpoint.pt"),
    log:
        script_log("models", "{model}", "export.log"),
    wildcard_constraints:
        model=one_of([name for name, entry in config["models"].items()
                      if entry.get("train", {}).get("method") in ("insta", "pfat")
                      and not entry["train"].get("stage2")]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/train_export_stage1.py"
