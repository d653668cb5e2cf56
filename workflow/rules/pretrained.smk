"""Published models: each archive downloaded once under resources/ (none with ``pretrained.path``), imported."""


rule fetch_pretrained:
    """Download archive ``{source}``, checked against its size and sha256 (no code inputs: never download again)."""
    output:
        archive="resources/pretrained/{source}/archive",
    wildcard_constraints:
        source=r"[A-Za-z0-9_]+",
    retries: 2
    localrule: True
    log:
        LAYOUT.log("pretrained", "fetch_{source}.log"),
    benchmark:
        LAYOUT.benchmark("pretrained", "fetch_{source}.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/fetch_pretrained.py"


rule import_pretrained:
    """Extract ``pretrained.member``, load it strictly in the catalog's layout (arch and input layer must match)."""
    input:
        foreign=lambda wildcards: PLAN.foreign_checkpoint(wildcards.model),
        catalog=package_data("models/pretrained.yaml"),
        code=package_code("import_pretrained.py"),
    output:
        model=LAYOUT.checkpoint("{model}"),
    wildcard_constraints:
        model=one_of(PLAN.models_with("pretrained")),
    log:
        LAYOUT.log("models", "{model}", "import.log"),
    benchmark:
        LAYOUT.benchmark("models", "{model}", "import.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("import_pretrained"),
    script:
        "../../scripts/import_pretrained.py"
