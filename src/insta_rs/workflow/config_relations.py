"""Relations between config keys that the schema cannot check: N0 <= N, subsets, training stages, Dual RS's
selector and seeds, references to models, row results and figure kinds, the procedure's settings.

Each check raises :class:`ConfigError`, whose first line names the key and what is allowed.
"""

from __future__ import annotations

from insta_rs.layout import Layout


class ConfigError(ValueError):
    """A config value is invalid; the message's first line names the key."""


def _check_subset(subset: dict, key: str) -> None:
    if "stop" in subset and subset["stop"] <= subset.get("start", 0):
        raise ConfigError(f"{key}: stop ({subset['stop']}) must be larger than start "
                          f"({subset.get('start', 0)}), otherwise the subset is empty")


def _check_search(config: dict) -> None:
    n_levels = config["noise"]["n_levels"]
    for level, _ in config["search"]["starts"]:
        if level > n_levels:
            raise ConfigError(f"search.starts: start level {level} exceeds noise.n_levels = {n_levels}")


def _check_training(config: dict) -> None:
    """Every training stage parses (method from the registry, its options, role keys), and ``stage1_from``
    names a model of the same method with its own stage I."""
    from insta_rs.training.config import parse_stage
    from insta_rs.training.two_stage import TWO_STAGE_METHODS

    models = config["models"]
    for name, entry in models.items():
        train, where = entry.get("train"), f"models.{name}.train"
        if train is None:
            continue
        try:
            if train["method"] not in TWO_STAGE_METHODS:
                parse_stage(train, "fixed", where)
                continue
            if "stage1" in train:
                parse_stage(train["stage1"], f"{train['method']}_stage1", f"{where}.stage1")
            if train.get("stage2"):
                parse_stage(train["stage2"], "stage2", f"{where}.stage2")
        except ValueError as error:
            raise ConfigError(str(error)) from None
        source = train.get("stage1_from")
        if source is not None:
            other = models.get(source, {}).get("train", {})
            if other.get("method") != train["method"] or "stage1" not in other:
                raise ConfigError(f"{where}.stage1_from = {source!r} must name a model with method "
                                  f"{train['method']!r} and its own stage1")


def _check_dataset(config: dict) -> None:
    from insta_rs.data.datasets import dataset_kind, inapplicable_keys

    dataset = config["dataset"]
    extra = inapplicable_keys(dataset)
    if extra:
        raise ConfigError(f"dataset.{extra[0]}: not a key of dataset {dataset['name']!r} (its keys: "
                          f"{', '.join(dataset_kind(dataset).keys) or 'none beyond the common ones'})")
    if "train_subset" in dataset:
        _check_subset(dataset["train_subset"], "dataset.train_subset")


def _check_dual(config: dict) -> None:
    """Dual RS, when a model is certified with it: a selector with a fixed-sigma training stage (its sigma is
    sigma_sel), ascending candidate levels within noise.n_levels, and noise seeds of its own."""
    from insta_rs.training.config import parse_stage

    sound, certify = config["sound"], config["certify"]
    seeds = {"certify.seed": certify["seed"], "certify.validation_seed": certify["validation_seed"]}
    if "dual" not in sound["modes"] or not sound["models"]:
        if len(set(seeds.values())) < len(seeds):
            raise ConfigError("certify.validation_seed must differ from certify.seed (the validation split's "
                              "certifications must share no noise with the test's)")
        return
    dual = sound["dual"]
    seeds["sound.dual.seed"] = dual["seed"]
    if len(set(seeds.values())) < len(seeds):
        raise ConfigError(f"{', '.join(seeds)} = {list(seeds.values())}: give each its own value (certifications "
                          "whose choices depend on each other must not share noise)")
    levels, n_levels = dual["levels"], config["noise"]["n_levels"]
    if levels != sorted(set(levels)) or levels[-1] > n_levels:
        raise ConfigError(f"sound.dual.levels = {levels}: distinct levels in ascending order, at most "
                          f"noise.n_levels = {n_levels}")
    selector = dual.get("selector", {})
    missing = [key for key in ("arch", "input_layer", "train") if key not in selector]
    if missing:
        raise ConfigError(f"sound.dual.selector.{missing[0]} is required when sound.modes has dual "
                          "(the selector network and its training; README, Dual RS)")
    try:
        parse_stage(selector["train"], "fixed", "sound.dual.selector.train")
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _check_references(config: dict) -> None:
    from insta_rs.report.figures import figure_kind
    from insta_rs.report.paper import paper_numbers
    from insta_rs.report.rows import parse_result
    from insta_rs.sound.modes import certification_path

    models, n_levels = config["models"], config["noise"]["n_levels"]
    sound = config.get("sound", {})
    for key in ("models", "audit.models"):
        named = sound.get("audit", {}).get("models", []) if key == "audit.models" else sound.get("models", [])
        unknown = sorted(set(named) - set(models))
        if unknown:
            raise ConfigError(f"sound.{key} names {unknown}, which are not under models (known: {sorted(models)})")
    for mode in sound.get("audit", {}).get("modes", []):
        try:
            certification_path(Layout(""), "model", mode)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    b3_models = paper_numbers()["uniform_sigma"]["models"]
    for model, reference in config.get("analysis", {}).get("b3", {}).get("paper_models", {}).items():
        if reference not in b3_models:
            raise ConfigError(f"analysis.b3.paper_models.{model} = {reference!r}: use one of {', '.join(b3_models)}")
    for section in ("tables", "figures"):
        for name, entry in config.get(section, {}).items():
            rows = entry.get("rows", [])
            named = [row["model"] for row in rows] + list(entry.get("models", []))
            named += [entry["model"]] if "model" in entry else []
            unknown = sorted(set(named) - set(models))
            if unknown:
                raise ConfigError(f"{section}.{name} names models {unknown} that are not under models: "
                                  f"add them there or fix the names (known: {sorted(models)})")
            for number, row in enumerate(rows):
                try:
                    parse_result(row["result"], n_levels)
                except ValueError as error:
                    raise ConfigError(f"{section}.{name}.rows.{number}.result: {error}") from None
            if section == "figures":
                try:
                    figure_kind(name, entry)
                except ValueError as error:
                    raise ConfigError(str(error)) from None


def _check_procedure(config: dict) -> None:
    """The procedure's settings, and ``certify.sequential`` only with the sequential procedure."""
    from insta_rs.certification.procedures import PROCEDURES, procedure_from_config

    certify = config["certify"]
    try:
        procedure_from_config(certify)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if certify["sequential"] and PROCEDURES[certify["procedure"]].settings_key != "sequential":
        raise ConfigError(f"certify.sequential is set but certify.procedure = {certify['procedure']!r}: set "
                          "certify.procedure: sequential, or remove certify.sequential")


def check_relations(config: dict) -> None:
    """Relations the schema cannot check (N0 <= N, subsets, stages, references to models, row results)."""
    certify = config["certify"]
    _check_procedure(config)
    for key in ("n", "validation_n"):
        if (certify[key] or certify["n"]) < certify["n0"]:
            raise ConfigError(f"certify.n0 = {certify['n0']} exceeds certify.{key} = {certify[key]}: "
                              "the selection sample must not be larger than the estimation sample")
    _check_subset(config["dataset"].get("test_subset", {}), "dataset.test_subset")
    _check_dataset(config)
    _check_dual(config)
    _check_search(config)
    _check_training(config)
    _check_references(config)
