"""What every result of a run depends on (its protocol), assembled once from the validated config.

A rule's ``params`` are its jobs' protocol: :meth:`Protocols.params` gives them to the rule files, and
:meth:`Protocols.of` gives the protocol of any result path (the params of the job that computed it, found with
:meth:`insta_rs.layout.Layout.parse`), so that a job reading a result can check, from the config alone, that the
result was made under the protocol this run names. Protocols hold only what is computed, never how (the schema's
``how: true`` keys), in canonical form (mappings with sorted keys, recursively): the order of keys in a config file,
or defaults written out, change nothing. Free of torch: the rule files use it while parsing.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Callable, Mapping

import yaml

from insta_rs.layout import Layout, protocol_key
from insta_rs.runtime.device import device_kind
from insta_rs.sound.modes import SOUND_MODES
from insta_rs.training.two_stage import TWO_STAGE_METHODS
from insta_rs.workflow.config_check import SCHEMA
from insta_rs.workflow.plan import Plan
from insta_rs.workflow.sharding import MERGES

Wildcards = Mapping[str, str]  # a job's wildcards: Snakemake's (``wildcards["model"]`` works) or a dict


def how_keys(schema: dict) -> set[str]:
    """Dotted paths of the keys marked ``how: true`` (``certify.batch_size``, ``dataset.root``, ``device``):
    the settings that change how a result is computed, not what."""
    found = set()
    for name, spec in schema["properties"].items():
        if spec.get("how"):
            found.add(name)
        found |= {f"{name}.{key}" for key, sub in spec.get("properties", {}).items() if sub.get("how")}
    return found


def canonical(value: object) -> object:
    """``value`` with every mapping's keys sorted, recursively (tuples become lists): one form for one protocol."""
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


class Protocols:
    """The protocols of a run of ``config`` (validated, defaults filled in); ``how`` are the config's how-keys."""

    def __init__(self, config: dict, how: set[str]):
        self.config, self.how = config, how
        self.layout = Layout.of_run(config)
        self.plan = Plan(config, self.layout)

    @classmethod
    def of_config(cls, config: dict, schema: str | Path = SCHEMA) -> Protocols:
        """The protocols of ``config``, its how-keys read from ``schema``."""
        return cls(config, how_keys(yaml.safe_load(Path(schema).read_text())))

    # ------------------------------------------------------------------------------------------ shared parts
    def tracked(self, section: str, *leave_out: str) -> dict:
        """Config section ``section`` without its how-keys (and ``leave_out``)."""
        return {key: value for key, value in self.config[section].items()
                if f"{section}.{key}" not in self.how and key not in leave_out}

    @cached_property
    def compute(self) -> dict:
        """The device kind (cpu or cuda draw different noise; resolved once from ``device``) and the precision."""
        return {"device": device_kind(self.config["device"]), "precision": self.config["precision"]}

    @cached_property
    def split_dataset(self) -> dict:
        """The data set settings a result on each split depends on: test_subset only chooses test images."""
        return {"test": self.tracked("dataset"), "validation": self.tracked("dataset", "test_subset")}

    @cached_property
    def training(self) -> dict:
        """What training depends on beyond the model's own entry."""
        return {"dataset": self.split_dataset["validation"], **self.compute}

    @cached_property
    def training_levels(self) -> dict:
        """:attr:`training` with the noise levels, for the per-example-sigma stages."""
        return {**self.training, "noise": self.config["noise"]}

    @cached_property
    def search(self) -> dict:
        """What a search of the test subset depends on."""
        return {"search": self.tracked("search"), "noise": self.config["noise"], "dataset": self.split_dataset["test"],
                **self.compute}

    @cached_property
    def certify(self) -> dict:
        """What a certification of the test subset depends on."""
        return {"certify": self.tracked("certify", "validation_seed", "validation_n"),
                "dataset": self.split_dataset["test"], "sigma0": self.config["noise"]["sigma0"], **self.compute}

    @cached_property
    def validation_certify(self) -> dict:
        """The validation split's certifications: the configured procedure, their own seed and N."""
        certify = self.config["certify"]
        return {**self.certify, "certify": {**self.certify["certify"], "seed": certify["validation_seed"],
                                            "n": certify["validation_n"] or certify["n"]},
                "dataset": self.split_dataset["validation"]}

    @cached_property
    def selector_certify(self) -> dict:
        """Dual RS's selector: certified at sigma_sel (its training sigma) with its share of alpha, its own seed."""
        dual = self.config["sound"]["dual"]
        alpha = dual["alpha_share"] * self.config["certify"]["alpha"]
        return {**self.certify, "certify": {**self.certify["certify"], "seed": dual["seed"], "alpha": alpha},
                "sigma": dual.get("selector", {}).get("train", {}).get("sigma")}

    def model_training(self, part: str | None = None, leave_out: tuple[str, ...] = ()) -> Callable[[Wildcards], dict]:
        """The ``model`` param of a training job: the model's arch, input layer and method, and its ``train`` entry
        (or that entry's ``part``, stage1 or stage2) without ``leave_out``."""

        def settings(wildcards: Wildcards) -> dict:
            entry = self.config["models"][wildcards["model"]]
            train = entry["train"] if part is None else entry["train"][part]
            return {"arch": entry["arch"], "input_layer": entry["input_layer"], "method": entry["train"]["method"],
                    "train": {key: value for key, value in train.items() if key not in leave_out}}

        return settings

    def published_entry(self, wildcards: Wildcards) -> dict:
        """A published model's config entry without ``pretrained.path`` (where the file lies is not what it is)."""
        entry = self.config["models"][wildcards["model"]]
        return {**entry, "pretrained": {key: value for key, value in entry["pretrained"].items() if key != "path"}}

    # ------------------------------------------------------------------------------------------ rules
    @cached_property
    def _rules(self) -> dict[str, dict]:
        """Every rule's params: values, or functions of the job's wildcards."""
        config, plan, levels = self.config, self.plan, self.plan.all_levels
        noise, sound, dual = config["noise"], config["sound"], config["sound"]["dual"]
        # a sequential certification of the test subset also settles the other levels it is read at (none under
        # fixed N; insta_rs.workflow.plan.Plan.level_readings); the validation split's are read at their own alpha only
        certify_levels = {"levels": levels, "readings": lambda wildcards: plan.level_readings(wildcards["model"]),
                          **self.certify}
        certify_level = {**certify_levels, "levels": lambda wildcards: [int(wildcards["level"])]}
        certify_validation = {"levels": levels, "readings": [], "split": "validation", **self.validation_certify}
        stage2 = {"model": self.model_training("stage2"), **self.training_levels}
        rules = {
            "prepare_data": {"dataset": self.split_dataset["validation"]},
            "import_pretrained": {"entry": self.published_entry, "num_classes": config["dataset"]["num_classes"]},
            "train_fixed_sigma": {"model": self.model_training(), **self.training},
            "insta_stage1": {"model": self.model_training("stage1"), **self.training_levels},
            # PFAT's m2 and p_max only shape its grid assignment: a change there does not retrain stage 1
            "pfat_stage1": {"model": self.model_training("stage1", ("m2", "p_max")), **self.training_levels},
            "pfat_assign": {"model": self.model_training("stage1"), **self.training_levels},
            "insta_stage2": stage2, "pfat_stage2": stage2, "export_stage1": {},
            "search_instance": self.search,
            "search_uniform": {**self.search, "dataset": lambda wildcards: self.split_dataset[wildcards["split"]]},
            "certify_levels": certify_levels, "certify_level": certify_level,
            "certify_validation": certify_validation, "certify_assigned": self.certify,
            "certify_selector": self.selector_certify,
            "collapse_guard": {"guard": config["analysis"]["collapse_guard"], "n_levels": noise["n_levels"],
                               "num_classes": config["dataset"]["num_classes"]},
            "sound_certificate": {"settings": lambda wildcards: SOUND_MODES[wildcards["mode"]].settings(config)},
            "sound_knn_sigma": {"dataset": self.split_dataset["test"], "semi_elastic": sound["semi_elastic"],
                                "noise": noise},
            "sound_falsify": {"falsify": sound["falsify"]},
            "sound_audit": {"audit": sound["audit"], "cascade": sound["cascade"], "semi_elastic": sound["semi_elastic"],
                            "dual": dual, **self.search, "certify": self.tracked("certify")},
            "dual_labels": {"levels": dual["levels"], "labels": dual["labels"], "sigma0": noise["sigma0"],
                            "p_max": config["search"]["p_max"], **self.training},
            "dual_selector": {"levels": dual["levels"], "selector": dual.get("selector"), "sigma0": noise["sigma0"],
                              **self.training},
            "table": {"spec": lambda wildcards: plan.table_spec(wildcards["table"]), "noise": noise,
                      "dataset": self.split_dataset["validation"], "precision": config["precision"]},
            "figure": {"figure": lambda wildcards: config["figures"][wildcards["figure"]],
                       "kind": lambda wildcards: plan.figure_kind(wildcards["figure"]), "noise": noise},
        }
        # a merge tracks what the jobs it merges track, as one param
        return rules | {merge: _merged(rules[sharded]) for sharded, merge in MERGES.items()}

    def params(self, rule: str) -> dict:
        """The ``params`` of ``rule`` for its rule file, in canonical form (values, or functions of wildcards)."""

        def resolved(value):
            return (lambda wildcards: canonical(value(wildcards))) if callable(value) else canonical(value)

        return {name: resolved(value) for name, value in self._rules[rule].items()}

    def job(self, rule: str, wildcards: Wildcards) -> dict:
        """The params of the job of ``rule`` with ``wildcards``, in canonical form."""
        return canonical(_at(self._rules[rule], wildcards))

    # ------------------------------------------------------------------------------------------ results
    def of(self, path: str) -> dict:
        """The protocol of result ``path``: the params of the job that computed it (of the jobs a merge merged).
        ValueError for a path that is no result of this run."""
        rule, wildcards = self.producer(path)
        params = self.job(rule, wildcards)
        return params["tracked"] if rule.startswith("merge_") else params

    def key(self, path: str) -> str:
        """:func:`insta_rs.layout.protocol_key` of :meth:`of`."""
        return protocol_key(self.of(path))

    def producer(self, path: str) -> tuple[str, dict]:
        """The rule of the job that wrote result ``path`` and the job's wildcards."""
        parsed = self.layout.parse(path)
        if parsed is None:
            raise ValueError(f"{path} is not a result of run {self.config['run']}")
        kind, fields = parsed
        if kind == "shard":  # written by the job whose results a merge merges
            rule, wildcards = self.producer(f"{fields['directory']}/{fields['name']}.tsv")
            return _MERGED[rule], wildcards
        if kind in ("model_file", "training_levels", "training_level"):
            name = fields["name"] if kind == "model_file" else "levels"
            return self._model_file_producer(fields["model"], name), fields
        if kind == "level":
            return ("merge_levels" if fields["model"] in self.plan.swept_models() else "merge_level"), fields
        if kind == "table":
            other = {"falsification": "sound_falsify", "audit": "sound_audit", "audit_examples": "sound_audit"}
            return other.get(fields["name"], "table"), {"table": fields["name"]}
        if kind == "figure":
            return "figure", {"figure": fields["name"]}
        if kind == "sound":
            return "sound_certificate", fields
        if kind == "search" and fields["method"] == "knn":
            return "sound_knn_sigma", fields
        return _PRODUCERS[kind], fields

    def _model_file_producer(self, model: str, name: str) -> str:
        """The training (or import) rule that writes file ``name`` of ``model``'s training."""
        entry = self.config["models"].get(model)
        if name.startswith("selector"):
            return "dual_labels" if name == "selector_labels.tsv" else "dual_selector"
        if entry is None:
            raise ValueError(f"model {model} is not configured")
        if "pretrained" in entry:
            return "import_pretrained"
        train = entry["train"]
        if train["method"] not in TWO_STAGE_METHODS:
            return "train_fixed_sigma"
        rules = TWO_STAGE_METHODS[train["method"]].rules
        if name in ("stage1.pt", "stage1_history.tsv", "levels"):
            return rules["stage1"]
        if name in ("assigned_levels.tsv", "sigma_assignment.json"):
            return rules["assign"]
        return rules["stage2"] if train.get("stage2") else "export_stage1"


def _at(params: Mapping[str, object], wildcards: Wildcards) -> dict:
    """``params`` of the job with ``wildcards``: each function of the wildcards called."""
    return {name: value(wildcards) if callable(value) else value for name, value in params.items()}


def _merged(params: Mapping[str, object]) -> dict:
    """The params of a merge of the jobs with ``params``: theirs, as the one param ``tracked``."""
    return {"tracked": lambda wildcards: _at(params, wildcards)}


# The rule that writes each other kind of result.
_PRODUCERS = {"data_flag": "prepare_data", "validation_level": "merge_validation",
              "selector_certification": "merge_selector", "assigned": "merge_assigned", "search": "merge_search",
              "uniform": "search_uniform", "knn_meta": "sound_knn_sigma", "collapse_guard": "collapse_guard"}
# The sharded rule whose shards each merge merges.
_MERGED = {merge: sharded for sharded, merge in MERGES.items()}
