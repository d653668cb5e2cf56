"""Result tables (config ``tables``, with companions of per-instance rows), figures (config ``figures``), the
Appendix B.3 table (config ``analysis.b3``) and the training-speed table, from the certification, search and
training results. Inputs: analysis_inputs.smk."""


rule table:
    """A configured table: certified accuracy at each radius and ACR per row (ASS for searches), the paper's
    numbers beside them, and what each row's numbers guarantee. Models with per-instance rows get companion
    rows (validation sigma, oracle envelope at alpha/K, sound modes) unless ``companions: false``."""
    input:
        results=lambda wildcards: table_inputs(wildcards.table),
        code=package_code("make_table.py"),
        paper=package_data("paper_numbers.yaml"),
    output:
        md=report(result("tables", "{table}.md"), caption="../report/table.rst", category="Tables",
                  subcategory="{table}", labels={"table": "{table}", "format": "Markdown"}),
        tex=report(result("tables", "{table}.tex"), caption="../report/table.rst", category="Tables",
                   subcategory="{table}", labels={"table": "{table}", "format": "LaTeX"}),
        tsv=report(result("tables", "{table}.tsv"), caption="../report/table.rst", category="Tables",
                   subcategory="{table}", labels={"table": "{table}", "format": "TSV"}),
    log:
        script_log("tables", "{table}.log"),
    wildcard_constraints:
        table=one_of(table_names()),
    params:
        table=lambda wildcards: config["tables"][wildcards.table],
        sound=sound_models_and_modes(),
        radii=config["analysis"]["radii"],
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_table.py"


rule b3:
    """Appendix B.3: the uniform sigma of Algorithm 3 (test and validation inputs) against the best level."""
    input:
        results=lambda wildcards: b3_inputs(),
        code=package_code("make_table.py"),
        paper=package_data("paper_numbers.yaml"),
    output:
        md=report(result("tables", "b3.md"), caption="../report/b3.rst", category="Tables", subcategory="b3",
                  labels={"table": "b3", "format": "Markdown"}),
        tex=report(result("tables", "b3.tex"), caption="../report/b3.rst", category="Tables", subcategory="b3",
                   labels={"table": "b3", "format": "LaTeX"}),
        tsv=report(result("tables", "b3.tsv"), caption="../report/b3.rst", category="Tables", subcategory="b3",
                   labels={"table": "b3", "format": "TSV"}),
    log:
        script_log("tables", "b3.log"),
    params:
        b3=b3_config(),
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_table.py"


rule training_speed:
    """Training speed: wall time of the sigma assignment, Insta-RS Train (Algorithm 2) against PFAT's grid,
    per model, beside the paper's hours."""
    input:
        timings=training_speed_inputs(),
        code=package_code("make_table.py"),
        paper=package_data("paper_numbers.yaml"),
    output:
        md=report(result("tables", "training_speed.md"), caption="../report/training_speed.rst",
                  category="Tables", subcategory="training_speed",
                  labels={"table": "training_speed", "format": "Markdown"}),
        tex=report(result("tables", "training_speed.tex"), caption="../report/training_speed.rst",
                   category="Tables", subcategory="training_speed",
                   labels={"table": "training_speed", "format": "LaTeX"}),
        tsv=report(result("tables", "training_speed.tsv"), caption="../report/training_speed.rst",
                   category="Tables", subcategory="training_speed",
                   labels={"table": "training_speed", "format": "TSV"}),
    log:
        script_log("tables", "training_speed.log"),
    params:
        train={model: config["models"][model]["train"] for model in training_speed_models()},
        noise=config["noise"],
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_table.py"


rule fig1a:
    """Figure 1(a): ACR against the test-time variance sigma^2 = k * sigma0^2, one line per model."""
    input:
        results=lambda wildcards: figure_inputs(wildcards.figure),
        code=package_code("make_figure_fig1a.py"),
    output:
        png=report(result("figures", "{figure}.png"), caption="../report/fig1a.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PNG"}),
        pdf=report(result("figures", "{figure}.pdf"), caption="../report/fig1a.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PDF"}),
    log:
        script_log("figures", "{figure}.log"),
    wildcard_constraints:
        figure=one_of(figures_of_kind("fig1a")),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_figure_fig1a.py"


rule fig1c:
    """Figure 1(c): certified radius against sigma for three typical test examples of one model."""
    input:
        results=lambda wildcards: figure_inputs(wildcards.figure),
        code=package_code("make_figure_fig1c.py"),
    output:
        png=report(result("figures", "{figure}.png"), caption="../report/fig1c.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PNG"}),
        pdf=report(result("figures", "{figure}.pdf"), caption="../report/fig1c.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PDF"}),
    log:
        script_log("figures", "{figure}.log"),
    wildcard_constraints:
        figure=one_of(figures_of_kind("fig1c")),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_figure_fig1c.py"


rule fig3ab:
    """Figure 3(a)(b): certified accuracy against radius for configured rows (table row spec)."""
    input:
        results=lambda wildcards: figure_inputs(wildcards.figure),
        code=package_code("make_figure_fig3ab.py"),
    output:
        png=report(result("figures", "{figure}.png"), caption="../report/fig3ab.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PNG"}),
        pdf=report(result("figures", "{figure}.pdf"), caption="../report/fig3ab.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PDF"}),
    log:
        script_log("figures", "{figure}.log"),
    wildcard_constraints:
        figure=one_of(figures_of_kind("fig3ab")),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_figure_fig3ab.py"


rule fig3c:
    """Figure 3(c): distribution of the per-example sigma chosen by grid search and by multi-start FGSS."""
    input:
        results=lambda wildcards: figure_inputs(wildcards.figure),
        code=package_code("make_figure_fig3c.py"),
    output:
        png=report(result("figures", "{figure}.png"), caption="../report/fig3c.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PNG"}),
        pdf=report(result("figures", "{figure}.pdf"), caption="../report/fig3c.rst", category="Figures",
                   labels={"figure": "{figure}", "format": "PDF"}),
    log:
        script_log("figures", "{figure}.log"),
    wildcard_constraints:
        figure=one_of(figures_of_kind("fig3c")),
    params:
        figure=lambda wildcards: config["figures"][wildcards.figure],
        noise=config["noise"],
        results=lambda wildcards, output: results_dir_of(output[0]),
    threads: 1
    conda:
        "../../envs/insta-rs.yaml"
    script:
        "../../scripts/make_figure_fig3c.py"
