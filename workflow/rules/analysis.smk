"""Analysis (config ``analysis``): the collapse guard (insta_rs.collapse), read by the project's own sigma choices;
tables (insta_rs.report.table_kinds) and figures (insta_rs.report.figures), what each reads: PLAN."""


rule collapse_guard:
    """The levels whose certified validation predictions collapse onto few classes (insta_rs.collapse)."""
    input:
        levels=lambda wildcards: PLAN.collapse_guard_inputs(wildcards.model),
        code=package_code("collapse_guard.py"),
    output:
        tsv=LAYOUT.collapse_guard("{model}"),
    log:
        LAYOUT.log("certify", "{model}", "collapse_guard.log"),
    benchmark:
        LAYOUT.benchmark("certify", "{model}", "collapse_guard.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("collapse_guard"),
    script:
        "../../scripts/collapse_guard.py"


rule table:
    """A table of a kind of insta_rs.report.table_kinds: a configured one, Appendix B.3, training speed, collapse."""
    input:
        results=lambda wildcards: PLAN.table_inputs(wildcards.table),
        code=package_code("make_table.py"),
        paper=package_data("report/paper_numbers.yaml"),
    output:
        **{
            ext: report_item(LAYOUT.table("{table}", ext), "table", "Tables", "{table}", table="{table}")
            for ext in ("md", "tex", "tsv")
        },
    wildcard_constraints:
        table=one_of(PLAN.table_names()),
    log:
        LAYOUT.log("tables", "{table}.log"),
    benchmark:
        LAYOUT.benchmark("tables", "{table}.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("table"),
    script:
        "../../scripts/make_table.py"


rule figure:
    """A configured figure of a kind of insta_rs.report.figures.FIGURE_KINDS (Figures 1(a), 1(c), 3(a)(b), 3(c))."""
    input:
        results=lambda wildcards: PLAN.figure_inputs(wildcards.figure),
        code=package_code("make_figure.py"),
    output:
        **{
            ext: report_item(LAYOUT.figure("{figure}", ext), "figure", "Figures", figure="{figure}")
            for ext in ("png", "pdf")
        },
    wildcard_constraints:
        figure=one_of(list(config["figures"])),
    log:
        LAYOUT.log("figures", "{figure}.log"),
    benchmark:
        LAYOUT.benchmark("figures", "{figure}.tsv")
    conda:
        "../../envs/insta-rs.yaml"
    params:
        **PROTOCOLS.params("figure"),
    script:
        "../../scripts/make_figure.py"
