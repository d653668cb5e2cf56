"""Input functions and targets of the analysis rules (tables, figures, Appendix B.3, training speed), and the
levels they read of each model (which the certification rules then certify); functions only.

Tables and figures are driven by the config keys ``tables`` and ``figures``; the rows of a table (with its
companions) and the files a row or a figure reads come from :mod:`insta_rs.tables`, the same code the
scripts read them with.
"""

import os

from insta_rs.tables import level_path, level_paths, row_inputs, search_path, table_rows, uniform_path

FIGURE_KEYS = {"fig1a": "models", "fig1c": "model", "fig3ab": "rows", "fig3c": "model"}


def results_dir_of(output_path):
    """results/<run> from a table or figure path results/<run>/<tables|figures>/<name>.<ext>; the scripts
    read the result files below it with the path functions the inputs come from."""
    return os.path.dirname(os.path.dirname(output_path))


def unique(paths):
    """``paths`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(paths))


def table_names():
    """Names of the configured tables (``tables:``)."""
    return list(config.get("tables", {}))


def sound_models_and_modes():
    """``sound.models`` and ``sound.modes``: the sound companions of a table's per-instance rows."""
    sound = config.get("sound", {})
    return {"models": list(sound.get("models", [])), "modes": list(sound.get("modes", []))}


def table_inputs(name):
    """Every result file the rows of table ``name`` and their companions read."""
    n_levels = config["noise"]["n_levels"]
    return unique(path for row in table_rows(config["tables"][name], sound_models_and_modes())
                  for path in row_inputs(RESULTS, row["model"], row["result"], n_levels))


def figure_kind(name):
    """A figure's kind: its ``kind`` key, else its name when that is a kind (fig1a, fig1c, fig3ab, fig3c)."""
    kind = config["figures"][name].get("kind", name)
    if kind not in FIGURE_KEYS:
        raise ValueError(f"figures.{name}: set kind to one of {', '.join(FIGURE_KEYS)} "
                         "(or name the figure after its kind)")
    if FIGURE_KEYS[kind] not in config["figures"][name]:
        raise ValueError(f"figures.{name} ({kind}) needs the key {FIGURE_KEYS[kind]!r}")
    return kind


def figures_of_kind(kind):
    """Names of the configured figures of one kind."""
    return [name for name in config.get("figures", {}) if figure_kind(name) == kind]


def figure_inputs(name):
    """The result files figure ``name`` reads."""
    figure, n_levels = config["figures"][name], config["noise"]["n_levels"]
    kind = figure_kind(name)
    if kind == "fig1a":
        return unique(path for model in figure["models"] for path in level_paths(RESULTS, model, n_levels))
    if kind == "fig1c":
        return level_paths(RESULTS, figure["model"], n_levels)
    if kind == "fig3ab":
        return unique(path for row in figure["rows"]
                      for path in row_inputs(RESULTS, row["model"], row["result"], n_levels))
    return [search_path(RESULTS, figure["model"], method) for method in ("grid", "fgss")]


def b3_config():
    """The Appendix B.3 table's settings (``analysis.b3``), empty when not configured."""
    return config.get("analysis", {}).get("b3", {})


def b3_inputs():
    """Level files and Algorithm 3 results (test and validation) of every B.3 model."""
    n_levels = config["noise"]["n_levels"]
    return unique(path for model in b3_config()["models"]
                  for path in [*level_paths(RESULTS, model, n_levels),
                               uniform_path(RESULTS, model, "test"), uniform_path(RESULTS, model, "validation")])


def levels_read():
    """``{model: levels}`` of the fixed-level certifications that the configured tables, figures, B.3, sound
    certificates and audit read; a cascade certificate reads every level of its model."""
    paths = {path for name in table_names() for path in table_inputs(name)}
    paths |= {path for name in config.get("figures", {}) for path in figure_inputs(name)}
    paths |= set((b3_inputs() if b3_config() else []) + sound_targets() + audit_certifications())
    return {model: LEVELS if certification_path(RESULTS, model, "cascade") in paths
            else [level for level in LEVELS if level_path(RESULTS, model, level) in paths]
            for model in config["models"]}


def swept_models():
    """Models whose every level is read: ``certify_levels`` certifies them in one job (the model loaded once);
    the others get a ``certify_level`` job for each level read, and none for the rest."""
    return [model for model, levels in levels_read().items() if len(levels) == len(LEVELS)]


def training_speed_models():
    """Models trained with Insta-RS Train or PFAT from their own stage I: they time their sigma assignment."""
    return [name for name, entry in config["models"].items()
            if entry.get("train", {}).get("method") in ("insta", "pfat") and "stage1" in entry["train"]]


def training_speed_inputs():
    """The ``sigma_assignment.json`` of every model of :func:`training_speed_models` (same order)."""
    return [result("models", model, "sigma_assignment.json") for model in training_speed_models()]


def analysis_targets():
    """Every configured table (md, tex, tsv) and figure (png, pdf), B.3 when ``analysis.b3`` is set, and the
    training-speed table when a model times its sigma assignment."""
    names = (table_names() + (["b3"] if b3_config() else [])
             + (["training_speed"] if training_speed_models() else []))
    return ([result("tables", f"{name}.{ext}") for name in names for ext in ("md", "tex", "tsv")]
            + [result("figures", f"{name}.{ext}") for name in config.get("figures", {}) for ext in ("png", "pdf")])
