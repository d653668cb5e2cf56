"""Checks of a run's config that JSON Schema cannot express (relations between keys).

The workflow calls :func:`check_config` right after schema validation, before any job runs; every
message names the key and what to change.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value is invalid; the message names the key."""


def _check_subset(subset: dict) -> None:
    if "stop" in subset and subset["stop"] <= subset.get("start", 0):
        raise ConfigError(f"dataset.test_subset: stop ({subset['stop']}) must be larger than start "
                          f"({subset.get('start', 0)}), otherwise the test subset is empty")


def _check_search(config: dict) -> None:
    n_levels = config["noise"]["n_levels"]
    for level, step in config["search"]["starts"]:
        if level > n_levels:
            raise ConfigError(f"search.starts: start level {level} exceeds noise.n_levels = {n_levels}")


def _check_stage1_from(config: dict) -> None:
    models = config["models"]
    for name, entry in models.items():
        source = entry.get("train", {}).get("stage1_from")
        if source is None:
            continue
        train = models.get(source, {}).get("train", {})
        if train.get("method") != entry["train"]["method"] or "stage1" not in train:
            raise ConfigError(f"models.{name}.train.stage1_from = {source!r} must name a model with method "
                              f"{entry['train']['method']!r} and its own stage1")


def _check_references(config: dict) -> None:
    models = config["models"]
    sound = config.get("sound", {})
    unknown = sorted((set(sound.get("models", [])) | set(sound.get("audit", {}).get("models", []))) - set(models))
    if unknown:
        raise ConfigError(f"sound.models / sound.audit.models name {unknown}, which are not under models")
    for section in ("tables", "figures"):
        for name, entry in config.get(section, {}).items():
            named = [row["model"] for row in entry.get("rows", [])] + list(entry.get("models", []))
            named += [entry["model"]] if "model" in entry else []
            unknown = sorted(set(named) - set(models))
            if unknown:
                raise ConfigError(f"{section}.{name} names models {unknown} that are not under models: "
                                  f"add them there or fix the names (known: {sorted(models)})")


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` for relations the schema cannot check (N0 <= N, subsets, references)."""
    certify = config["certify"]
    if certify["n0"] > certify["n"]:
        raise ConfigError(f"certify.n0 = {certify['n0']} exceeds certify.n = {certify['n']}: "
                          "the selection sample must not be larger than the estimation sample")
    _check_subset(config["dataset"].get("test_subset", {}))
    _check_search(config)
    _check_stage1_from(config)
    _check_references(config)
