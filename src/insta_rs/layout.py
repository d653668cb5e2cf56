"""Where every result of a run lives: the one place that spells out a result path.

Rule outputs, input functions, step scripts and table readers all take their paths from a :class:`Layout`.
Each method accepts concrete values or Snakemake wildcard patterns alike (``layout.level("{model}",
"{level}")`` is the rule's output pattern, ``layout.level("cohen-0.50", 4)`` the file). Free of heavy
imports: the rule files use it while parsing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

RESULTS = "results"
MODEL_FILES = ("checkpoint.pt", "history.tsv", "stage1.pt", "stage1_history.tsv", "stage2_history.tsv",
               "sigma_assignment.json", "assigned_levels.tsv", "selector.pt", "selector_history.tsv",
               "selector_labels.tsv")


class ResultPath(NamedTuple):
    """A result file parsed by :meth:`Layout.parse`: the :class:`Layout` method that spells it and its arguments."""

    kind: str
    fields: dict


# The results :meth:`Layout.parse` recognizes, as (method, the names of its arguments), most specific first (a level
# file also matches a sound mode's pattern). ``training_levels`` is a directory result, ``training_level`` a file in it.
_PARSED = (("data_flag", ()), ("model_file", ("model", "name")), ("training_levels", ("model",)),
           ("training_level", ("model", "name")),
           ("shard", ("directory", "name", "key", "scatteritem")), ("validation_level", ("model", "level")),
           ("collapse_guard", ("model",)),
           ("level", ("model", "level")), ("selector_certification", ("model",)), ("assigned", ("model", "assignment")),
           ("sound", ("model", "mode")), ("uniform", ("model", "split")), ("knn_meta", ("model",)),
           ("search", ("model", "method")), ("table", ("name", "extension")), ("figure", ("name", "extension")))
_FIELD = {"level": r"\d+", "directory": r".+", "key": r"[0-9a-f]{12}", "scatteritem": r"\d+-of-\d+"}


@dataclass(frozen=True)
class Layout:
    """The files of run ``root`` (``results/<run>``)."""

    root: str

    @classmethod
    def of_run(cls, config: dict) -> Layout:
        """The layout of ``config``'s run: ``results/<run>`` below the working directory."""
        return cls(f"{RESULTS}/{config['run']}")

    def path(self, *parts: object) -> str:
        """``root/part/...``."""
        return "/".join([self.root, *map(str, parts)])

    # ------------------------------------------------------------------------------------------ data, models
    def data_flag(self) -> str:
        """Written once the configured data set loads; every step that reads data depends on it."""
        return self.path("data", "dataset.ready")

    def model_file(self, model: object, name: str) -> str:
        """A file of a model's training (one of :data:`MODEL_FILES`, or a wildcard pattern)."""
        if name not in MODEL_FILES and not re.fullmatch(r"\{\w+\}", name):
            raise ValueError(f"unknown model file {name!r}; known: {', '.join(MODEL_FILES)}")
        return self.path("models", model, name)

    def checkpoint(self, model: object) -> str:
        """The final model (trained, fine-tuned or imported) that search and certification read."""
        return self.model_file(model, "checkpoint.pt")

    def training_levels(self, model: object) -> str:
        """Directory of Algorithm 2's per-example training levels after each update, ``epoch_<k>.tsv``."""
        return self.path("models", model, "levels")

    def training_level(self, model: object, name: object) -> str:
        """A file of :meth:`training_levels` (one result: the directory)."""
        return f"{self.training_levels(model)}/{name}"

    # ------------------------------------------------------------------------------------------ certification
    def level(self, model: object, level: object) -> str:
        """Fixed-sigma certification of every test example at level ``level``."""
        return self.path("certify", model, f"level{level}.tsv")

    def levels(self, model: object, n_levels: int) -> list[str]:
        """:meth:`level` for levels 1..n_levels."""
        return [self.level(model, level) for level in range(1, n_levels + 1)]

    def validation_level(self, model: object, level: object) -> str:
        """Fixed-sigma certification of every validation example at level ``level`` (the labelled choice of one
        sigma on validation data)."""
        return self.path("certify", model, "validation", f"level{level}.tsv")

    def validation_levels(self, model: object, n_levels: int) -> list[str]:
        """:meth:`validation_level` for levels 1..n_levels."""
        return [self.validation_level(model, level) for level in range(1, n_levels + 1)]

    def collapse_guard(self, model: object) -> str:
        """Per level, whether the model's certified predictions on the validation split collapse onto few classes
        (:func:`insta_rs.collapse.collapse_guard`): the levels the project's own choices leave out."""
        return self.path("certify", model, "validation", "collapse_guard.tsv")

    def selector_certification(self, model: object) -> str:
        """Certification of Dual RS's sigma selector on every test example (predict = candidate index)."""
        return self.path("certify", model, "selector.tsv")

    def assigned(self, model: object, assignment: object) -> str:
        """Certification of every test example at the sigma that ``assignment`` (a search) chose for it."""
        return self.path("certify", model, f"search_{assignment}.tsv")

    def sound(self, model: object, mode: object) -> str:
        """A sound input-adaptive certification (``mode`` of :mod:`insta_rs.sound.modes`)."""
        return self.path("certify", model, f"{mode}.tsv")

    # ------------------------------------------------------------------------------------------------ search
    def search(self, model: object, method: object) -> str:
        """Per-example sigma assignment: a search (``fgss``, ``grid``) or another assignment (``knn``)."""
        return self.path("search", model, f"{method}.tsv")

    def uniform(self, model: object, split: object) -> str:
        """Algorithm 3's result on the ``test`` or ``validation`` inputs (columns level sigma acr_hat chosen)."""
        return self.path("search", model, f"uniform_{split}.tsv")

    def knn_meta(self, model: object) -> str:
        """Metadata of the kNN sigma (k r sigma_b m dim) that the semi-elastic mode deploys."""
        return self.path("search", model, "knn.json")

    # -------------------------------------------------------------------------------------------- sharding
    def shard(self, final: str, key: str) -> str:
        """Shard ``{scatteritem}``, under protocol ``key`` (:func:`protocol_key`), of the sharded result ``final``
        (a path of this layout): ``<stage>/<model>/<name>.tsv`` -> ``<stage>/<model>/shards/<name>/<key>/...``."""
        directory, _, name = final.rpartition("/")
        return f"{directory}/shards/{name.removesuffix('.tsv')}/{key}/{{scatteritem}}.tsv"

    # ------------------------------------------------------------------------------------ tables, figures
    def table(self, name: object, extension: str) -> str:
        """A table (``md``, ``tex``, ``tsv``)."""
        return self.path("tables", f"{name}.{extension}")

    def figure(self, name: object, extension: str) -> str:
        """A figure (``png``, ``pdf``)."""
        return self.path("figures", f"{name}.{extension}")

    def cost_report(self) -> str:
        """What the run costs, written by ``snakemake cost`` before the run (insta_rs.cost.passes)."""
        return self.path("cost.md")

    # ------------------------------------------------------------------------------------- logs, benchmarks
    def log(self, *parts: object) -> str:
        """A job's log file, ``logs/<parts>``."""
        return self.path("logs", *parts)

    def benchmark(self, *parts: object) -> str:
        """A job's ``benchmark:`` TSV, ``benchmarks/<parts>``."""
        return self.path("benchmarks", *parts)

    # ------------------------------------------------------------------------------------------ the inverse
    def parse(self, path: str) -> ResultPath | None:
        """The kind (the method that spells ``path``) and fields of a result path of this layout, None for any
        other path (logs, benchmarks, seals, partial files, ...). ``layout.parse(layout.level("m", 2))`` is
        ``ResultPath("level", {"model": "m", "level": "2"})``; a shard's fields name its final result's directory
        and name."""
        for kind, names in _PARSED:
            match = self._patterns[kind].fullmatch(path)
            if match:
                return ResultPath(kind, match.groupdict())
        return None

    @cached_property
    def _patterns(self) -> dict[str, re.Pattern]:
        """:data:`_PARSED`'s methods called with wildcard patterns (``{model}``), as regular expressions."""
        patterns = {}
        for kind, names in _PARSED:
            if kind == "shard":
                spelled = self.shard("{directory}/{name}.tsv", "{key}")
            else:
                spelled = getattr(self, kind)(*(f"{{{name}}}" for name in names))
            parts = re.split(r"\{(\w+)\}", spelled)  # literal, name, literal, name, ..., literal
            fields = {**_FIELD, "name": "|".join(map(re.escape, MODEL_FILES))} if kind == "model_file" else _FIELD
            patterns[kind] = re.compile("".join(
                re.escape(part) if number % 2 == 0 else f"(?P<{part}>{fields.get(part, '[^/]+')})"
                for number, part in enumerate(parts)))
        return patterns


def protocol_key(protocol: dict) -> str:
    """A short, stable key of a protocol (a job's tracked params): 12 hex digits of its SHA-256."""
    text = json.dumps(protocol, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
