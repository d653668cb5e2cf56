"""Table rows: the grammar of a row's ``result``, the registry of row kinds, and companion rows.

A row is ``{label, model, result, paper_row (optional)}``; ``result`` is ``<kind>`` or ``<kind>:<argument>``
with the kinds of :data:`ROW_KINDS`, each of which says which result files it reads, how it reduces them to
one certification per test example, and what its numbers guarantee (its ``definition``;
docs/what-the-numbers-mean.md):

- ``level:<k>``: fixed-sigma certification at ``sigma_k = sqrt(k) * sigma0`` (sound, Cohen et al.);
- ``search:fgss`` / ``search:grid``: each example certified at its own searched sigma (Alg. 1 / grid),
  the paper's per-instance fixed-sigma radius, not a certificate of the deployed instance-wise classifier;
- ``best_uniform``: ``max_sigma mean_i CR(x_i, sigma)``, the paper's baseline ACR (sigma chosen on test labels);
- ``oracle``: ``mean_i max_sigma CR(x_i, sigma)``, the paper's Insta-RS Train ACR;
- ``oracle_bonferroni``: the same envelope with every level re-certified at ``alpha / K``, an upper bound of
  any per-example choice among the levels;
- ``uniform:test`` / ``uniform:validation``: the level Alg. 3 chose on the test inputs (as in the paper, B.3)
  / on the validation split (sound; label-free, as Alg. 3);
- ``validation_best``: the level with the best certified ACR on the validation split, its labels used (sound:
  validation labels are not test labels), the fair single-sigma baseline of a per-example choice;
- ``sound:<mode>``: a sound input-adaptive certificate of :mod:`insta_rs.sound` (:data:`~insta_rs.sound.modes.SOUND_MODES`).

The project's own choices (``uniform:validation``, ``validation_best``, ``sound:<mode>``) leave out the levels the
collapse guard marks (:mod:`insta_rs.collapse`); a row whose choice the guard changed says so in its ``note``.

Companions (``companions: true``, the default): every model with a ``search:*`` row also gets, after its last
row, the rows of :data:`COMPANIONS` and ``sound:<mode>`` for each mode of ``sound.modes`` when the model is in
``sound.models`` (:func:`table_rows`), unless the table has them already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd

from insta_rs import analysis, collapse
from insta_rs.certification.records import read_certification
from insta_rs.files import read_tsv
from insta_rs.layout import Layout
from insta_rs.levels import level_sigma
from insta_rs.search.registry import SEARCH_METHODS
from insta_rs.sound.modes import SOUND_MODES

UNIFORM_SPLITS = ("test", "validation")
COMPANIONS = {"uniform:validation": "sigma from validation, label-free Alg. 3",
              "validation_best": "sigma from validation, best certified ACR (labels)",
              "oracle_bonferroni": "oracle envelope, alpha/K"}
COMPANION_NOTE = ("Rows '<model>, ...' after a model's per-instance rows are companions added to every table "
                  "with per-instance radii: the sound sigmas chosen on validation data (label-free by Alg. 3, and "
                  "the best certified ACR with the validation labels), the oracle envelope at alpha/K and the "
                  "sound input-adaptive certificates of the same model.")


@dataclass(frozen=True)
class RowResult:
    """What one table row certifies: per-example certification, its definition, and the single level it
    used (None for per-example choices, whose ``sigma_text`` says how sigma was chosen)."""

    kind: str
    frame: pd.DataFrame
    definition: str
    level: int | None = None
    sigma: float | None = None
    per_example: str = ""
    ass: float | None = None
    note: str = ""

    @property
    def sigma_text(self) -> str:
        """``"0.500 (k=4)"`` for a single level, ``"per example (fgss)"`` otherwise."""
        return f"{self.sigma:.3f} (k={self.level})" if self.level else f"per example ({self.per_example})"


@dataclass(frozen=True)
class Source:
    """Where a row's numbers come from: the run's files, the model, the row kind's argument, the levels."""

    layout: Layout
    model: str
    argument: str | int | None
    n_levels: int
    sigma0: float

    def levels(self) -> dict[int, pd.DataFrame]:
        """``{k: certification at level k}`` for k = 1..n_levels."""
        return {k: read_certification(path)
                for k, path in enumerate(self.layout.levels(self.model, self.n_levels), start=1)}

    def single_level(self, kind: str, frame: pd.DataFrame, definition: str, level: int, note: str = "") -> RowResult:
        """A row certified at one level; sigma as certified (the TSV's sigma column) or ``sqrt(k) * sigma0``."""
        sigma = float(frame["sigma"].iloc[0]) if "sigma" in frame else level_sigma(level, self.sigma0)
        return RowResult(kind, frame, definition, level=level, sigma=sigma, note=note)

    def guarded(self) -> list[int]:
        """The levels the model's collapse guard leaves out of the project's own choices."""
        return collapse.guarded_levels(self.layout.collapse_guard(self.model))


def guard_note(excluded: list[int], chosen: int | None = None, unguarded: int | None = None) -> str:
    """What the collapse guard did to a row: the level it chose instead of the unguarded choice (single-level rows;
    nothing when they agree), or the levels it left out of the row's choices (per-example rows)."""
    if not excluded or (chosen is not None and chosen == unguarded):
        return ""
    left_out = (f"{collapse.describe_excluded(excluded)} left out (their certified validation predictions collapse "
                "onto few classes)")
    return f"collapse guard: k={chosen}, not k={unguarded}; {left_out}" if chosen else f"collapse guard: {left_out}"


@dataclass(frozen=True)
class RowKind:
    """One kind of row: its allowed arguments (None: takes none; ``LEVEL``: a level number), what its numbers
    guarantee (per argument where it differs), the files it reads and how it reduces them to one row."""

    arguments: tuple[str, ...] | str | None
    definition: Callable[[object], str]
    inputs: Callable[[Source], list[str]]
    load: Callable[[Source], RowResult]


LEVEL = "<level>"


def _level(source: Source) -> RowResult:
    frame = read_certification(source.layout.level(source.model, source.argument))
    return source.single_level("level", frame, ROW_KINDS["level"].definition(source.argument), source.argument)


def _search(source: Source) -> RowResult:
    frame = read_certification(source.layout.assigned(source.model, source.argument))
    search = read_tsv(source.layout.search(source.model, source.argument), ["idx", "level", "n_levels_evaluated"])
    return RowResult("search", frame, ROW_KINDS["search"].definition(source.argument), per_example=source.argument,
                     ass=analysis.average_search_steps(search))


def _sound(source: Source) -> RowResult:
    frame = read_certification(source.layout.sound(source.model, source.argument))
    return RowResult("sound", frame, ROW_KINDS["sound"].definition(source.argument),
                     per_example=source.argument.replace("_", "-"), note=guard_note(source.guarded()))


def _best_uniform(source: Source) -> RowResult:
    choice = analysis.best_uniform_acr(source.levels())
    return source.single_level("best_uniform", choice.frame, ROW_KINDS["best_uniform"].definition(None), choice.level)


def _oracle(corrected: bool) -> Callable[[Source], RowResult]:
    kind = "oracle_bonferroni" if corrected else "oracle"

    def load(source: Source) -> RowResult:
        return RowResult(kind, analysis.oracle_envelope(source.levels(), alpha_correction=corrected),
                         ROW_KINDS[kind].definition(None), per_example="max")

    return load


def _uniform(source: Source) -> RowResult:
    search = read_tsv(source.layout.uniform(source.model, source.argument), ["level", "chosen"])
    level = analysis.chosen_level(search)
    note = ""
    if "chosen_without_guard" in search.columns:  # the validation split's search records the unguarded choice too
        unguarded = analysis.chosen_level(search, "chosen_without_guard")
        note = guard_note(search.loc[search["collapsed"] == 1, "level"].tolist(), level, unguarded)
    return source.single_level("uniform", analysis.aligned_levels(source.levels())[level],
                               ROW_KINDS["uniform"].definition(source.argument), level, note)


def _validation_best(source: Source) -> RowResult:
    validation = {k: read_certification(path)
                  for k, path in enumerate(source.layout.validation_levels(source.model, source.n_levels), start=1)}
    excluded = source.guarded()
    level, unguarded = analysis.best_uniform_acr(validation, excluded).level, analysis.best_uniform_acr(validation).level
    return source.single_level("validation_best", analysis.aligned_levels(source.levels())[level],
                               ROW_KINDS["validation_best"].definition(None), level,
                               guard_note(excluded, level, unguarded))


def _all_levels(source: Source) -> list[str]:
    return source.layout.levels(source.model, source.n_levels)


ROW_KINDS: dict[str, RowKind] = {
    "level": RowKind(LEVEL, lambda _: "sound: fixed sigma (Cohen et al.)",
                     lambda s: [s.layout.level(s.model, s.argument)], _level),
    "search": RowKind(tuple(SEARCH_METHODS),
                      lambda _: "per-instance fixed-sigma radius (as in the paper; not a certificate of the deployed "
                                "instance-wise classifier)",
                      lambda s: [s.layout.assigned(s.model, s.argument), s.layout.search(s.model, s.argument)],
                      _search),
    "best_uniform": RowKind(None, lambda _: "one sigma chosen with the test labels (as in the paper, Table 2 "
                                            "baselines; optimistic)", _all_levels, _best_uniform),
    "oracle": RowKind(None, lambda _: "per-example best over levels, labels used (as in the paper, Table 2)",
                      _all_levels, _oracle(corrected=False)),
    "oracle_bonferroni": RowKind(None, lambda _: "oracle envelope, alpha/K: upper bound for any per-example choice",
                                 _all_levels, _oracle(corrected=True)),
    "uniform": RowKind(UNIFORM_SPLITS,
                       {"test": "one sigma chosen on the test inputs (as in the paper, Alg. 3)",
                        "validation": "sound: one sigma chosen by Alg. 3 (label-free) on the validation split"}.get,
                       lambda s: [*_all_levels(s), s.layout.uniform(s.model, s.argument)], _uniform),
    "validation_best": RowKind(None, lambda _: "sound: one sigma, the best certified ACR on the validation split (its "
                                               "labels, not the test's)",
                               lambda s: [*_all_levels(s), *s.layout.validation_levels(s.model, s.n_levels),
                                          s.layout.collapse_guard(s.model)],
                               _validation_best),
    "sound": RowKind(tuple(SOUND_MODES), lambda mode: SOUND_MODES[mode].definition,
                     lambda s: [s.layout.sound(s.model, s.argument), s.layout.collapse_guard(s.model)], _sound),
}


def result_grammar(n_levels: int | str = "K") -> str:
    """Every allowed ``result``, for error messages: ``level:<1..K>, search:fgss, ...``."""
    forms = []
    for kind, spec in ROW_KINDS.items():
        if spec.arguments is None:
            forms.append(kind)
        elif spec.arguments == LEVEL:
            forms.append(f"{kind}:<1..{n_levels}>")
        else:
            forms += [f"{kind}:{argument}" for argument in spec.arguments]
    return ", ".join(forms)


def parse_result(result: str, n_levels: int) -> tuple[str, str | int | None]:
    """Split a row's ``result`` into (kind, argument); ValueError naming every allowed form otherwise."""
    kind, _, argument = str(result).partition(":")
    spec = ROW_KINDS.get(kind)
    if spec is not None:
        if spec.arguments is None and not argument:
            return kind, None
        if spec.arguments == LEVEL and argument.isdigit() and 1 <= int(argument) <= n_levels:
            return kind, int(argument)
        if isinstance(spec.arguments, tuple) and argument in spec.arguments:
            return kind, argument
    raise ValueError(f"unknown table row result {result!r}: use one of {result_grammar(n_levels)}")


def source(layout: Layout, model: str, result: str, n_levels: int, sigma0: float = 0.25) -> tuple[RowKind, Source]:
    """The row kind of ``result`` and where its numbers come from."""
    kind, argument = parse_result(result, n_levels)
    return ROW_KINDS[kind], Source(layout, model, argument, n_levels, sigma0)


def row_inputs(layout: Layout, model: str, result: str, n_levels: int) -> list[str]:
    """The result files a row reads (for the workflow's input functions)."""
    kind, where = source(layout, model, result, n_levels)
    return kind.inputs(where)


def load_row(layout: Layout, model: str, result: str, n_levels: int, sigma0: float) -> RowResult:
    """Read the files of one row and reduce them to a per-example certification (see the module table)."""
    kind, where = source(layout, model, result, n_levels, sigma0)
    return kind.load(where)


def table_rows(table_cfg: Mapping, sound_cfg: Mapping | None = None) -> list[dict]:
    """The rows of a table with its companions (module docstring): after the last row of every model that has
    a ``search:*`` row, the rows of :data:`COMPANIONS` and ``sound:<mode>`` (each mode of ``sound_cfg["modes"]``
    when the model is in ``sound_cfg["models"]``) that the table lacks for it. ``companions: false`` in
    ``table_cfg`` returns the configured rows only."""
    rows = [dict(row) for row in table_cfg.get("rows") or []]
    if not table_cfg.get("companions", True):
        return rows
    sound_cfg = sound_cfg or {}
    searched = {row["model"] for row in rows if str(row["result"]).startswith("search:")}
    last_row = {row["model"]: position for position, row in enumerate(rows)}
    labels = {**COMPANIONS, **{f"sound:{mode}": spec.label for mode, spec in SOUND_MODES.items()}}
    with_companions = []
    for position, row in enumerate(rows):
        with_companions.append(row)
        model = row["model"]
        if model not in searched or last_row[model] != position:
            continue
        wanted = list(COMPANIONS)
        if model in sound_cfg.get("models", []):
            wanted += [f"sound:{mode}" for mode in sound_cfg.get("modes", [])]
        present = {other["result"] for other in rows if other["model"] == model}
        with_companions += [{"label": f"{model}, {labels[result]}", "model": model, "result": result}
                            for result in wanted if result not in present]
    return with_companions
