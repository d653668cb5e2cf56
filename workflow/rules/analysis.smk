"""Tables (insta_rs.report.table_kinds) and figures (insta_rs.report.figures); what each reads: PLAN."""


rule table:
    """A table of a kind of insta_rs.report.table_kinds: a configured one, Appendix B.3, training speed, collapse."""
    input:
        results=lambda wildcards: PLAN.table_inputs(wildcards.table),
        code=package_code("make_table.py"),
        paper=package_data("report/paper_numbers.yaml"),
    output:
        **{extension: report(LAYOUT.table("{table}", extension), caption="../report/table.rst", category="Tables",
                             subcategory="{table}", labels={"table": "{table}", "format": FORMATS[extension]})
           for extension in ("md", "tex", "tsv")},
    log:
        LAYOUT.log("tables", "{table}.log"),
    wildcard_constraints:
        table=one_of(PLAN.table_names()),
    params:
        **PROTOCOLS.params("table"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_table.py"


rule figure:
    """A configured figure of a kind of insta_rs.report.figures.FIGURE_KINDS (Figures 1(a), 1(c), 3(a)(b), 3(c))."""
    input:
        results=lambda wildcards: PLAN.figure_inputs(wildcards.figure),
        code=package_code("make_figure.py"),
    output:
        **{extension: report(LAYOUT.figure("{figure}", extension), caption="../report/figure.rst",
                             category="Figures", labels={"figure": "{figure}", "format": FORMATS[extension]})
           for extension in ("png", "pdf")},
    log:
        LAYOUT.log("figures", "{figure}.log"),
    wildcard_constraints:
        figure=one_of(list(config["figures"])),
    params:
        **PROTOCOLS.params("figure"),
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_figure.py"
