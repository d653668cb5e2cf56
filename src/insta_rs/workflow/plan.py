"""What a run makes and what each target reads: the workflow's input functions, written once and testable.

The rule files ask a :class:`Plan` (built from the validated config) for the targets of ``rule all``, the
result files a table, figure or the B.3 table reads, which levels of each model are read (and so certified),
and which models each training rule trains. Free of torch and matplotlib: the rule files call it while parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from insta_rs.certification.procedures import PROCEDURES
from insta_rs.certification.sequential import Reading
from insta_rs.layout import Layout
from insta_rs.report.figures import FIGURE_KINDS, figure_kind, unique
from insta_rs.report.rows import row_inputs, table_rows
from insta_rs.report.table_kinds import TABLE_KINDS, table_kind
from insta_rs.search.registry import SEARCH_METHODS
from insta_rs.sound.modes import SOUND_MODES, audited_mode, certification_path
from insta_rs.training.two_stage import TWO_STAGE_METHODS

TABLE_FORMATS = ("md", "tex", "tsv")
FIGURE_FORMATS = ("png", "pdf")


@dataclass(frozen=True)
class Plan:
    """The targets and inputs of a run of ``config`` whose results live in ``layout``."""

    config: dict
    layout: Layout

    @property
    def n_levels(self) -> int:
        return self.config["noise"]["n_levels"]

    @property
    def all_levels(self) -> list[int]:
        return list(range(1, self.n_levels + 1))

    # ------------------------------------------------------------------------------------------ models
    def models_with(self, key: str) -> list[str]:
        """Names of the configured models whose entry has ``key`` (``train`` or ``pretrained``)."""
        return [name for name, entry in self.config["models"].items() if key in entry]

    def fixed_sigma_models(self) -> list[str]:
        """Models trained with one sigma for every example (a parameter-update method of their own)."""
        return [name for name, entry in self.config["models"].items()
                if entry.get("train", {}).get("method") not in (None, *TWO_STAGE_METHODS)]

    def two_stage_models(self, method: str, has: str) -> list[str]:
        """Models of two-stage ``method`` (insta, pfat) with ``has`` in their train entry: ``stage1`` (they
        train their own stage I) or ``stage2`` (they fine-tune), or ``no stage2`` (a stage-I model as final)."""
        models = [(name, entry["train"]) for name, entry in self.config["models"].items()
                  if entry.get("train", {}).get("method") == method]
        if has == "no stage2":
            return [name for name, train in models if not train.get("stage2")]
        return [name for name, train in models if train.get(has)]

    def trained_by(self, rule: str) -> list[str]:
        """Models of a two-stage method among whose ``rules`` is ``rule``: its stage-I rules (``stage1``,
        ``assign``) train the models with their own stage I, its ``stage2`` rule those that fine-tune."""
        parts = {"stage1": "stage1", "assign": "stage1", "stage2": "stage2"}
        return unique(model for name, method in TWO_STAGE_METHODS.items() for step, part in parts.items()
                      if method.rules[step] == rule for model in self.two_stage_models(name, part))

    def stage1_only_models(self) -> list[str]:
        """Two-stage models without a stage II: their final model is a stage-I model (Table 5)."""
        return [model for method in TWO_STAGE_METHODS for model in self.two_stage_models(method, "no stage2")]

    def foreign_checkpoint(self, model: str) -> str:
        """A published model's local ``pretrained.path``, else the downloaded archive of its source."""
        pretrained = self.config["models"][model]["pretrained"]
        return pretrained.get("path") or f"resources/pretrained/{pretrained['source']}/archive"

    def stage1_source(self, model: str) -> str:
        """The model whose stage I ``model`` fine-tunes: its own, or ``train.stage1_from``'s."""
        return self.config["models"][model]["train"].get("stage1_from", model)

    # ------------------------------------------------------------------------------------------ tables
    def sound_companions(self) -> dict:
        """``sound.models`` and ``sound.modes``: the sound companions of a table's per-instance rows."""
        sound = self.config.get("sound", {})
        return {"models": list(sound.get("models", [])), "modes": list(sound.get("modes", []))}

    def result_tables(self) -> list[str]:
        """The tables of results: the configured ones, then those of :data:`TABLE_KINDS` of results the run has
        (``b3`` when ``analysis.b3`` is set, ``training_speed`` when a model times its sigma assignment)."""
        return list(self.config.get("tables", {})) + self._added_tables(results=True)

    def table_names(self) -> list[str]:
        """Every table of the run: :meth:`result_tables` and the collapse diagnostics of the training levels and
        of the levels certified anyway (they add no certification)."""
        return self.result_tables() + self._added_tables(results=False)

    def _added_tables(self, results: bool) -> list[str]:
        return [name for name, kind in TABLE_KINDS.items() if kind.results == results and kind.wanted(self)]

    def training_level_files(self) -> dict[str, str]:
        """``{row name: file}`` of per-example training levels: each two-stage method's (Algorithm 2's levels
        directory, PFAT's grid assignment) for the models with their own stage I, Dual RS's selector labels."""
        files = {model: method.levels_file(self.layout, model) for name, method in TWO_STAGE_METHODS.items()
                 for model in self.two_stage_models(name, "stage1")}
        return files | {f"{model} selector": self.layout.model_file(model, "selector_labels.tsv")
                        for model in self.dual_models()}

    def table_spec(self, name: str) -> dict:
        """What table ``name`` shows (the ``table`` rule's param ``spec``): a configured table with the sound
        companions and the default radii, or what its kind of :data:`TABLE_KINDS` shows."""
        return table_kind(name).spec(self, name)

    def table_inputs(self, name: str) -> list[str]:
        """Every result file table ``name`` reads (for a configured table: its rows and their companions)."""
        return table_kind(name).inputs(self, name)

    def configured_table_inputs(self, name: str) -> list[str]:
        """The result files of the rows of configured table ``name`` and of their companions."""
        rows = table_rows(self.config["tables"][name], self.sound_companions())
        return unique(path for row in rows for path in row_inputs(self.layout, row["model"], row["result"],
                                                                  self.n_levels))

    def figure_kind(self, name: str) -> str:
        return figure_kind(name, self.config["figures"][name])

    def figure_inputs(self, name: str) -> list[str]:
        """The result files figure ``name`` reads."""
        figure = self.config["figures"][name]
        return FIGURE_KINDS[self.figure_kind(name)].inputs(figure, self.layout, self.n_levels)

    def b3_config(self) -> dict:
        """The Appendix B.3 table's settings (``analysis.b3``), empty when not configured."""
        return self.config.get("analysis", {}).get("b3", {})

    def b3_inputs(self) -> list[str]:
        """Level files and Algorithm 3 results (test and validation) of every B.3 model."""
        return unique(path for model in self.b3_config().get("models", [])
                      for path in [*self.layout.levels(model, self.n_levels), self.layout.uniform(model, "test"),
                                   self.layout.uniform(model, "validation")])

    def training_speed_models(self) -> list[str]:
        """Models trained with Insta-RS Train or PFAT from their own stage I: they time their sigma assignment."""
        return [model for method in TWO_STAGE_METHODS for model in self.two_stage_models(method, "stage1")]

    def results_of(self, model: str) -> set[str]:
        """Every row ``result`` that a table (companions included) or a figure shows for ``model``."""
        rows = [row for table in self.config.get("tables", {}).values()
                for row in table_rows(table, self.sound_companions())]
        rows += [row for figure in self.config.get("figures", {}).values() for row in figure.get("rows", [])]
        return {str(row["result"]) for row in rows if row["model"] == model}

    def level_readings(self, model: str) -> list[str]:
        """The readings (:class:`insta_rs.certification.sequential.Reading` labels) at which something reads ``model``'s
        certifications of the test subset at every level at another level than their own alpha, which a sequential
        certification settles too (none under fixed N, whose counts serve every level): the alpha/K envelope (share
        1/K) and each sound mode's reading (:attr:`insta_rs.sound.modes.SoundMode.reading`: the cascade's 1/(2K),
        thresholds shifted by its p0; Dual RS's classifier's 1 - alpha_share)."""
        if PROCEDURES[self.config["certify"]["procedure"]].fixed_n:
            return []
        sound, n_levels = self.config["sound"], self.n_levels
        readings = {Reading(1 / n_levels)} if "oracle_bonferroni" in self.results_of(model) else set()
        if model in sound["models"]:
            readings |= {SOUND_MODES[mode].reading(sound, n_levels) for mode in sound["modes"]} - {None}
        return [reading.label for reading in sorted(readings, reverse=True)]

    def collapse_guard_inputs(self, model: str) -> list[str]:
        """What ``model``'s collapse guard reads: its validation certifications at every level, or nothing when
        ``analysis.collapse_guard`` is off (the guard then leaves no level out)."""
        return self.layout.validation_levels(model, self.n_levels) if self.config["analysis"]["collapse_guard"] else []

    # ------------------------------------------------------------------------------------------ sound
    def dual_models(self) -> list[str]:
        """Models certified with Dual RS (``dual`` in ``sound.modes``)."""
        sound = self.config["sound"]
        return list(sound["models"]) if "dual" in sound["modes"] else []

    def sound_inputs(self, model: str, mode: str) -> dict[str, str | list[str]]:
        """What the certificate of sound ``mode`` for ``model`` reads, by name
        (:attr:`insta_rs.sound.modes.SoundMode.inputs`)."""
        return SOUND_MODES[mode].inputs(self.layout, self.config, model)

    def audit_inputs(self) -> dict[str, list[str]]:
        """What the audit reads: every ``sound.audit.models`` checkpoint and collapse guard, the certifications it
        checks (:meth:`audit_certifications`) and the files each mode's deployed classifier reads."""
        audit = self.config["sound"]["audit"]
        return {"models": [self.layout.checkpoint(model) for model in audit["models"]],
                "certifications": self.audit_certifications(),
                "reads": [path for model in audit["models"] for mode in audit["modes"]
                          for path in audited_mode(mode).reads(self.layout, model)],
                "guards": [self.layout.collapse_guard(model) for model in audit["models"]]}

    def audit_certifications(self) -> list[str]:
        """The certifications the audit checks: every ``sound.audit.modes`` of every ``sound.audit.models``."""
        audit = self.config["sound"]["audit"]
        return [certification_path(self.layout, model, mode) for model in audit["models"] for mode in audit["modes"]]

    def sound_targets(self) -> list[str]:
        """Sound certificates of ``sound.models``, the exact counterexample, and the audit when configured."""
        sound = self.config["sound"]
        targets = [self.layout.sound(model, mode) for model in sound["models"] for mode in sound["modes"]]
        targets.append(self.layout.table("falsification", "md"))
        if sound["audit"]["models"]:
            targets.append(self.layout.table("audit", "md"))
        return targets

    # ------------------------------------------------------------------------------------------ targets
    def analysis_targets(self) -> list[str]:
        """Every table (md, tex, tsv) and configured figure (png, pdf) of the run."""
        return ([self.layout.table(name, ext) for name in self.table_names() for ext in TABLE_FORMATS]
                + [self.layout.figure(name, ext) for name in self.config.get("figures", {})
                   for ext in FIGURE_FORMATS])

    def final_targets(self) -> list[str]:
        """The targets of the default rule: the configured tables and figures, and the sound companions."""
        return self.analysis_targets() + self.sound_targets()

    def read_paths(self) -> set[str]:
        """Every result file that a table, figure, the B.3 table, a sound certificate or the audit reads."""
        paths = {path for name in self.result_tables() for path in self.table_inputs(name)}
        paths |= {path for name in self.config.get("figures", {}) for path in self.figure_inputs(name)}
        return paths | set(self.sound_targets() + self.audit_certifications())

    def levels_read(self) -> dict[str, list[int]]:
        """``{model: levels}`` of the fixed-level certifications that something reads, directly or through a
        sound certificate (:attr:`insta_rs.sound.modes.SoundMode.levels_read`: the cascade reads every level)."""
        paths, sound = self.read_paths(), self.config["sound"]

        def read(model: str) -> list[int]:
            levels = {level for level in self.all_levels if self.layout.level(model, level) in paths}
            for name, mode in SOUND_MODES.items():
                if self.layout.sound(model, name) in paths:
                    levels |= set(mode.levels_read(sound, self.n_levels))
            return sorted(levels)

        return {model: read(model) for model in self.config["models"]}

    def swept_models(self) -> list[str]:
        """Models whose every level is read: one job certifies them at all levels (the model loaded once);
        the others (:meth:`single_level_models`) get a job for each level read, and none for the rest."""
        return [model for model, levels in self.levels_read().items() if len(levels) == self.n_levels]

    def single_level_models(self) -> list[str]:
        """The models not in :meth:`swept_models`."""
        swept = self.swept_models()
        return [model for model in self.config["models"] if model not in swept]

    @staticmethod
    def assignments() -> list[str]:
        """What assigns each test example its sigma (``certify_assigned``): the search methods, the kNN sigma."""
        return [*SEARCH_METHODS, "knn"]


def one_of(names: list[str]) -> str:
    """A wildcard regex matching exactly one of ``names`` (never matches when the list is empty)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"
