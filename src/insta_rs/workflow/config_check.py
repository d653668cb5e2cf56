"""Checking a run's config before any job runs: YAML with file and line, the JSON schema with defaults and
one-line errors, the names the package's registries allow, relations between keys, and the local files a run
needs (data roots, manually downloaded checkpoints).

Every error's first line names the full key path and what is allowed; missing local files are listed in one
message with where to get each and where to put it. Also a command that checks config files without
Snakemake (Snakemake itself reports a YAML error in a ``--configfile`` without its line)::

    python -m insta_rs.workflow.config_check config/paper-cifar10.yaml [overlay.yaml ...]

The schema marks with ``x-registry: <name>`` the keys whose allowed values come from a registry of
:data:`REGISTRIES`, and with ``how: true`` the keys that say how a result is computed (batch sizes, shards,
locations), never what: :mod:`insta_rs.workflow.protocols` leaves those out of what the workflow tracks.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import yaml

from insta_rs.workflow.config_relations import ConfigError, check_relations

if TYPE_CHECKING:  # jsonschema is imported where a config is validated, not by every job that imports this module
    from jsonschema.exceptions import ValidationError

SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


# Each registry: the module and the name of the mapping (or the function returning it) whose keys are the allowed
# values; imported when a config is checked, not when this module is.
REGISTRIES: dict[str, tuple[str, str]] = {
    "sound_modes": ("insta_rs.sound.modes", "SOUND_MODES"),
    "figure_kinds": ("insta_rs.report.figures", "FIGURE_KINDS"),
    "training_methods": ("insta_rs.training.methods", "METHODS"),
    "two_stage_methods": ("insta_rs.training.two_stage", "TWO_STAGE_METHODS"),
    "certification_procedures": ("insta_rs.certification.procedures", "PROCEDURES"),
    "datasets": ("insta_rs.data.datasets", "DATASETS"),
    "architectures": ("insta_rs.models.names", "ARCHS"),
    "augmentations": ("insta_rs.data.sources", "AUGMENTATIONS"),
    "pretrained_sources": ("insta_rs.data.fetch", "load_catalog"),
}


def registry_names(registry: str) -> list[str]:
    """The names registry ``registry`` of :data:`REGISTRIES` allows, in its order."""
    module, name = REGISTRIES[registry]
    found = getattr(importlib.import_module(module), name)
    return list(found() if callable(found) else found)


# ------------------------------------------------------------------------------------------------ loading

def load_yaml(path: str | Path) -> dict:
    """A YAML config file as a dict; ConfigError naming the file (and the line and column of a syntax error) when it
    is not valid YAML, or not a mapping, or empty."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem} (check the indentation there; YAML needs spaces, "
                          "not tabs)") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: a config file must be a mapping of keys (run:, dataset:, models:, ...); this one "
                          f"{'is empty' if not data else f'holds a {type(data).__name__}'}")
    return data


def merge(base: dict, update: Mapping) -> dict:
    """``base`` with ``update`` merged in, nested mappings key by key (as Snakemake merges config files)."""
    merged = dict(base)
    for key, value in update.items():
        nested = isinstance(value, Mapping) and isinstance(base.get(key), Mapping)
        merged[key] = merge(base[key], value) if nested else value
    return merged


def load_schema(path: str | Path = SCHEMA) -> dict:
    """The config schema, with every ``x-registry`` key turned into the registry's ``enum``."""
    schema = yaml.safe_load(Path(path).read_text())

    def fill(node: object) -> None:
        if isinstance(node, dict):
            if "x-registry" in node:
                node["enum"] = registry_names(node["x-registry"])
            for value in node.values():
                fill(value)
        elif isinstance(node, list):
            for value in node:
                fill(value)

    fill(schema)
    return schema


# ------------------------------------------------------------------------------------------------ schema

def _with_defaults(validator_class):
    """A validator that fills in schema defaults while it validates (as ``snakemake.utils.validate`` does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        for name, subschema in properties.items():
            if "default" in subschema and isinstance(instance, dict):
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    from jsonschema import validators

    return validators.extend(validator_class, {"properties": set_defaults})


def key_path(error: ValidationError) -> str:
    """``models.cohen.train.epochs`` for an error's location (``the top level`` for the root)."""
    return ".".join(str(part) for part in error.absolute_path) or "the top level"


def _describe(error: ValidationError) -> str:
    """One line: the key path, the value and what is allowed."""
    where, schema, value = key_path(error), error.schema, error.instance
    kind = error.validator
    if kind == "additionalProperties":
        allowed = ", ".join(schema.get("properties", {}))
        unknown = sorted(set(value) - set(schema.get("properties", {})))
        prefix = f"{where}." if error.absolute_path else ""
        close = difflib.get_close_matches(unknown[0], list(schema.get("properties", {})), n=1)
        guess = f"did you mean {close[0]}? " if close else ""
        return f"{prefix}{unknown[0]}: unknown key ({guess}allowed here: {allowed})"
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        close = difflib.get_close_matches(missing[0], [str(key) for key in value], n=1)
        guess = f" ({close[0]} is given: a misspelling?)" if close else ""
        return (f"{where}.{missing[0]}" if error.absolute_path else missing[0]) + f" is required{guess}"
    if kind == "enum":
        return f"{where} = {value!r}: use one of {', '.join(map(str, error.validator_value))}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
        return f"{where} = {value!r}: must be {sign} {error.validator_value}"
    if kind == "type":
        return f"{where} = {value!r}: must be of type {error.validator_value}"
    description = schema.get("description")
    if kind == "oneOf" and description:
        return f"{where} = {value!r}: use exactly one of the forms {description}"
    hint = f" ({description})" if description else ""
    return f"{where} = {value!r}: {error.message}{hint}"


def _relevance(error: ValidationError) -> tuple:
    """Prefer the deepest error, then the ones that name a key (not "is not valid under any of ...")."""
    return (len(error.absolute_path), error.validator not in ("oneOf", "anyOf", "if", "then", "else"))


def validate_schema(config: dict, schema: dict) -> None:
    """Validate ``config`` against ``schema`` in place, filling in defaults; ConfigError naming the key."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = _with_defaults(Draft202012Validator)(schema)
    errors = list(validator.iter_errors(config))
    if errors:
        error = max(errors, key=_relevance)
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = best_match(error.context, key=_relevance)
        raise ConfigError(_describe(error))


# ------------------------------------------------------------------------------------------ local files

def missing_local_files(config: dict) -> list[str]:
    """What the run needs on disk that is not there: the data set's root (unless it is downloaded) and every
    checkpoint that must be downloaded by hand; each line says where to get it and where to put it."""
    from insta_rs.data.datasets import local_data_problems
    from insta_rs.data.fetch import manual_download_problems

    problems = local_data_problems(config["dataset"])
    for name, entry in config["models"].items():
        if "pretrained" in entry:
            problems += manual_download_problems(name, entry["pretrained"])
    return problems


def check_local_files(config: dict) -> None:
    """ConfigError listing every missing local file (:func:`missing_local_files`)."""
    problems = missing_local_files(config)
    if problems:
        raise ConfigError("files this run needs are missing:\n" + "\n".join(f"- {line}" for line in problems))


def fill_derived(config: dict) -> None:
    """Values derived from others, computed once: ``search.p_max`` (null: ``alpha ** (1 / certify.n)``, the
    largest lower bound certification can reach, so the search never prefers what it cannot certify) and the
    table radii a sequential certification in decision mode decides (``analysis.radii`` unless given)."""
    from insta_rs.certification.stats import max_certifiable_p

    if config["search"].get("p_max") is None:
        config["search"]["p_max"] = max_certifiable_p(config["certify"]["alpha"], config["certify"]["n"])
    sequential = config["certify"]["sequential"]
    if sequential.get("mode") == "decision" and "radii" not in sequential:
        sequential["radii"] = list(config["analysis"]["radii"])


def check_config(config: dict, schema_path: str | Path = SCHEMA, local_files: bool = True) -> dict:
    """Validate ``config`` in place (schema with defaults, registries, relations, local files), fill in the
    derived values (:func:`fill_derived`) and return it."""
    validate_schema(config, load_schema(schema_path))
    check_relations(config)
    fill_derived(config)
    if local_files:
        check_local_files(config)
    return config


def main(argv: list[str] | None = None) -> int:
    """``python -m insta_rs.workflow.config_check FILE [FILE ...]``: merge the files in order and check the result."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    try:
        config: dict = {}
        for path in paths:
            config = merge(config, load_yaml(path))
        check_config(config)
    except ConfigError as error:
        print(f"ConfigError: {error}", file=sys.stderr)
        return 1
    print(f"{' + '.join(paths)}: valid (run {config['run']}, {len(config['models'])} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
