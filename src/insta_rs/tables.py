"""Config-driven result tables (Markdown, LaTeX booktabs, TSV) with the paper's numbers beside ours.

A table config is ``{title, caption, radii (optional), companions (optional, default true), rows: [{label,
model, result, paper_row (optional)}]}``. ``result`` names what a row certifies; every kind carries a
``definition`` of what its numbers guarantee (docs/what-the-numbers-mean.md):

- ``level:<k>``: fixed-sigma certification at ``sigma_k = sqrt(k) * sigma0`` (sound, Cohen et al.);
- ``search:fgss`` / ``search:grid``: each example certified at its own searched sigma (Alg. 1 / grid),
  the paper's per-instance fixed-sigma radius, not a certificate of the deployed instance-wise classifier;
- ``best_uniform``: ``max_sigma mean_i CR(x_i, sigma)``, the paper's baseline ACR (sigma chosen on test labels);
- ``oracle``: ``mean_i max_sigma CR(x_i, sigma)``, the paper's Insta-RS Train ACR;
- ``oracle_bonferroni``: the same envelope with every level re-certified at ``alpha / K``, an upper bound of
  any per-example choice among the levels;
- ``uniform:test`` / ``uniform:validation``: the level Alg. 3 chose on the test inputs (as in the paper, B.3)
  / on the validation split (sound);
- ``sound:cascade`` / ``sound:semi_elastic``: the sound input-adaptive certificates of :mod:`insta_rs.sound`.

Companions (``companions: true``, the default): every model with a ``search:*`` row also gets, after its last
row, the rows ``uniform:validation``, ``oracle_bonferroni`` and ``sound:<mode>`` for each mode of
``sound.modes`` when the model is in ``sound.models`` (:func:`table_rows`), unless the table has them already.

``paper_row`` is ``"<table>/<row>"``, a row of the package data file ``paper_numbers.yaml``.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from importlib import resources
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from insta_rs import analysis
from insta_rs.io import atomic_write_text, read_certification
from insta_rs.levels import level_to_sigma
from insta_rs.sound.modes import SOUND_MODES, certification_path

SEARCH_METHODS = ("fgss", "grid")
UNIFORM_SPLITS = ("test", "validation")
DEFINITIONS = {
    "level": "sound: fixed sigma (Cohen et al.)",
    "search": "per-instance fixed-sigma radius (as in the paper; not a certificate of the deployed instance-wise "
              "classifier)",
    "best_uniform": "one sigma chosen with the test labels (as in the paper, Table 2 baselines; optimistic)",
    "oracle": "per-example best over levels, labels used (as in the paper, Table 2)",
    "oracle_bonferroni": "oracle envelope, alpha/K: upper bound for any per-example choice",
    "uniform:test": "one sigma chosen on the test inputs (as in the paper, Alg. 3)",
    "uniform:validation": "sound: one sigma chosen on validation data disjoint from the test set",
    "sound:cascade": "sound: input-adaptive certificate (cascade over the levels, Jeong & Shin 2023; alpha/K "
                     "per level)",
    "sound:semi_elastic": "sound: input-adaptive certificate (semi-elastic kNN sigma, Sukenik et al. 2022)",
}
COMPANION_NOTE = ("Rows '<model>, ...' after a model's per-instance rows are companions added to every table "
                  "with per-instance radii: the sound validation sigma, the oracle envelope at alpha/K and the "
                  "sound input-adaptive certificates of the same model.")
COMPANION_LABELS = {"uniform:validation": "sigma from validation", "oracle_bonferroni": "oracle envelope, alpha/K",
                    "sound:cascade": "cascade (sound)", "sound:semi_elastic": "semi-elastic sigma (sound)"}
ACR_DEFINITION = ("ACR = mean_i radius_i * correct_i over the test subset (wrong and abstained examples count 0); "
                  "certified accuracy at r = fraction of test examples predicted correctly with radius >= r.")


# ---------------------------------------------------------------------------------------------- result files

def level_path(results_dir: str, model: str, level: int) -> str:
    """Fixed-sigma certification of ``model`` at level ``level``."""
    return f"{results_dir}/certify/{model}/level{level}.tsv"


def search_certify_path(results_dir: str, model: str, method: str) -> str:
    """Certification of every example at the sigma that search ``method`` chose for it."""
    return f"{results_dir}/certify/{model}/search_{method}.tsv"


def search_path(results_dir: str, model: str, method: str) -> str:
    """Per-example search result (level, sigma, cr_hat, n_levels_evaluated)."""
    return f"{results_dir}/search/{model}/{method}.tsv"


def uniform_path(results_dir: str, model: str, split: str) -> str:
    """Algorithm 3's result (columns level sigma acr_hat chosen) on the ``test`` or ``validation`` inputs."""
    return f"{results_dir}/search/{model}/uniform_{split}.tsv"


def level_paths(results_dir: str, model: str, n_levels: int) -> list[str]:
    """All fixed-sigma certifications of ``model``, levels 1..n_levels."""
    return [level_path(results_dir, model, k) for k in range(1, n_levels + 1)]


def load_levels(results_dir: str, model: str, n_levels: int) -> dict[int, pd.DataFrame]:
    """``{k: certification at level k}`` for k = 1..n_levels."""
    return {k: read_certification(level_path(results_dir, model, k)) for k in range(1, n_levels + 1)}


def read_tsv(path: str, required: Sequence[str]) -> pd.DataFrame:
    """A tab-separated result file with the columns ``required`` (clear error otherwise)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; run the workflow rule that makes it")
    frame = pd.read_csv(path, sep="\t")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


# ------------------------------------------------------------------------------------------------- row kinds

def parse_result(result: str, n_levels: int) -> tuple[str, str | int | None]:
    """Split a row's ``result`` into (kind, argument); ValueError for anything not in the module table."""
    kind, _, argument = str(result).partition(":")
    if kind == "level" and argument.isdigit() and 1 <= int(argument) <= n_levels:
        return kind, int(argument)
    if kind == "search" and argument in SEARCH_METHODS:
        return kind, argument
    if kind == "uniform" and argument in UNIFORM_SPLITS:
        return kind, argument
    if kind == "sound" and argument in SOUND_MODES:
        return kind, argument
    if kind in ("best_uniform", "oracle", "oracle_bonferroni") and not argument:
        return kind, None
    raise ValueError(f"unknown table row result {result!r}: use level:<1..{n_levels}>, search:fgss, search:grid, "
                     "best_uniform, oracle, oracle_bonferroni, uniform:test, uniform:validation, sound:cascade "
                     "or sound:semi_elastic")


def row_inputs(results_dir: str, model: str, result: str, n_levels: int) -> list[str]:
    """The result files a row reads (for the workflow's input functions)."""
    kind, argument = parse_result(result, n_levels)
    if kind == "level":
        return [level_path(results_dir, model, argument)]
    if kind == "search":
        return [search_certify_path(results_dir, model, argument), search_path(results_dir, model, argument)]
    if kind == "uniform":
        return [*level_paths(results_dir, model, n_levels), uniform_path(results_dir, model, argument)]
    if kind == "sound":
        return [certification_path(results_dir, model, argument)]
    return level_paths(results_dir, model, n_levels)


def table_rows(table_cfg: Mapping, sound_cfg: Mapping | None = None) -> list[dict]:
    """The rows of a table with its companions (module docstring): after the last row of every model that has
    a ``search:*`` row, the rows ``uniform:validation``, ``oracle_bonferroni`` and ``sound:<mode>`` (each mode
    of ``sound_cfg["modes"]`` when the model is in ``sound_cfg["models"]``) that the table lacks for it.
    ``companions: false`` in ``table_cfg`` returns the configured rows only."""
    rows = [dict(row) for row in table_cfg.get("rows") or []]
    if not table_cfg.get("companions", True):
        return rows
    sound_cfg = sound_cfg or {}
    searched = {row["model"] for row in rows if str(row["result"]).startswith("search:")}
    last_row = {row["model"]: position for position, row in enumerate(rows)}
    with_companions = []
    for position, row in enumerate(rows):
        with_companions.append(row)
        model = row["model"]
        if model not in searched or last_row[model] != position:
            continue
        wanted = ["uniform:validation", "oracle_bonferroni"]
        if model in sound_cfg.get("models", []):
            wanted += [f"sound:{mode}" for mode in sound_cfg.get("modes", [])]
        present = {other["result"] for other in rows if other["model"] == model}
        with_companions += [{"label": f"{model}, {COMPANION_LABELS[result]}", "model": model, "result": result}
                            for result in wanted if result not in present]
    return with_companions


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

    @property
    def sigma_text(self) -> str:
        """``"0.500 (k=4)"`` for a single level, ``"per example (fgss)"`` otherwise."""
        return f"{self.sigma:.3f} (k={self.level})" if self.level else f"per example ({self.per_example})"


def single_level_row(kind: str, frame: pd.DataFrame, definition: str, level: int, sigma0: float) -> RowResult:
    """A row certified at one level; sigma as certified (the TSV's sigma column) or ``sqrt(k) * sigma0``."""
    sigma = float(frame["sigma"].iloc[0]) if "sigma" in frame else level_to_sigma(level, sigma0)
    return RowResult(kind, frame, definition, level=level, sigma=sigma)


def load_row(results_dir: str, model: str, result: str, n_levels: int, sigma0: float) -> RowResult:
    """Read the files of one row and reduce them to a per-example certification (see the module table)."""
    kind, argument = parse_result(result, n_levels)
    if kind == "level":
        frame = read_certification(level_path(results_dir, model, argument))
        return single_level_row(kind, frame, DEFINITIONS["level"], argument, sigma0)
    if kind == "search":
        frame = read_certification(search_certify_path(results_dir, model, argument))
        search = read_tsv(search_path(results_dir, model, argument), ["idx", "level", "n_levels_evaluated"])
        return RowResult(kind, frame, DEFINITIONS["search"], per_example=argument,
                         ass=analysis.average_search_steps(search))
    if kind == "sound":
        frame = read_certification(certification_path(results_dir, model, argument))
        return RowResult(kind, frame, DEFINITIONS[result], per_example=argument.replace("_", "-"))
    levels = load_levels(results_dir, model, n_levels)
    if kind == "best_uniform":
        choice = analysis.best_uniform_acr(levels)
        return single_level_row(kind, choice.frame, DEFINITIONS["best_uniform"], choice.level, sigma0)
    if kind in ("oracle", "oracle_bonferroni"):
        return RowResult(kind, analysis.oracle_envelope(levels, alpha_correction=kind == "oracle_bonferroni"),
                         DEFINITIONS[kind], per_example="max")
    level = analysis.chosen_level(read_tsv(uniform_path(results_dir, model, argument), ["level", "chosen"]))
    return single_level_row(kind, analysis.aligned_levels(levels)[level], DEFINITIONS[result], level, sigma0)


# ------------------------------------------------------------------------------------------- paper numbers

@dataclass(frozen=True)
class PaperRow:
    """One row of one of the paper's tables."""

    table: str
    label: str
    radii: tuple[float, ...]
    cert_acc: tuple[float, ...]
    acr: float
    ass: float | None
    setting: str

    def cert_acc_at(self, radius: float) -> float | None:
        """The paper's certified accuracy at ``radius``, or None if its table has no such column."""
        for r, value in zip(self.radii, self.cert_acc):
            if math.isclose(r, radius, abs_tol=1e-9):
                return value
        return None


@functools.cache
def paper_numbers() -> dict:
    """The contents of the package's ``paper_numbers.yaml``."""
    return yaml.safe_load(resources.files("insta_rs").joinpath("paper_numbers.yaml").read_text())


def paper_row(reference: str) -> PaperRow:
    """Look up ``"<table>/<row>"`` (e.g. ``"table1/cohen-0.50"``) in the paper's numbers."""
    table_name, _, row_name = reference.partition("/")
    tables = paper_numbers()
    if table_name not in tables or row_name not in tables[table_name].get("rows", {}):
        known = [f"{t}/{r}" for t, v in tables.items() for r in v.get("rows", {})]
        raise ValueError(f"paper_row {reference!r} is not in paper_numbers.yaml; known rows: {', '.join(known)}")
    table, row = tables[table_name], tables[table_name]["rows"][row_name]
    return PaperRow(table=table_name, label=row["label"], radii=tuple(table["radii"]), cert_acc=tuple(row["cert_acc"]),
                    acr=row["acr"], ass=row.get("ass"), setting=table["setting"])


# ---------------------------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Table:
    """A rendered-ready table: ``numbers`` (one row per table row, numeric, for the TSV) and ``cells`` (strings)."""

    name: str
    title: str
    caption: str
    numbers: pd.DataFrame
    cells: pd.DataFrame
    footer: tuple[str, ...]


def describe_subset(idx: np.ndarray) -> str:
    """``"500 examples (idx 0, 20, ..., 9980)"``, or the range / first indices when not evenly spaced."""
    idx = np.sort(np.asarray(idx))
    if len(idx) <= 3:
        return f"{len(idx)} examples (idx {', '.join(map(str, idx))})"
    steps = np.unique(np.diff(idx))
    if len(steps) == 1:
        return f"{len(idx)} examples (idx {idx[0]}, {idx[1]}, ..., {idx[-1]})"
    return f"{len(idx)} examples (idx {idx[0]} to {idx[-1]}, not evenly spaced)"


def format_values(values: Sequence) -> str:
    """Distinct values of a column, ``"100"`` or ``"100, 1000"``."""
    distinct = sorted({float(v) for v in values if not pd.isna(v)})
    return ", ".join(f"{v:g}" for v in distinct) or "n/a"


def with_paper(value: float | None, paper_value: float | None, digits: int) -> str:
    """``"0.612 (paper 0.668)"``; just the value without a paper number; ``"-"`` without a value."""
    text = "-" if value is None or pd.isna(value) else f"{value:.{digits}f}"
    return text if paper_value is None else f"{text} (paper {paper_value:g})"


def describe_subsets(frames: Sequence[pd.DataFrame]) -> str:
    """:func:`describe_subset` of the frames' idx, or each distinct description when they differ."""
    subsets = sorted({describe_subset(frame["idx"].to_numpy()) for frame in frames})
    return subsets[0] if len(subsets) == 1 else "differs between rows: " + "; ".join(subsets)


def column_values(frames: Sequence[pd.DataFrame], name: str) -> str:
    """:func:`format_values` of column ``name`` over all frames that have it."""
    return format_values([value for frame in frames if name in frame for value in frame[name]])


def certification_footer(rows: Sequence[RowResult], show_ass: bool, papers: Sequence[PaperRow]) -> tuple[str, ...]:
    """Footer lines: test subset, N0 / N / alpha as read from the certification TSVs, definitions."""
    frames = [row.frame for row in rows]
    corrected = [row.frame for row in rows if row.kind == "oracle_bonferroni"]
    uncorrected = [row.frame for row in rows if row.kind != "oracle_bonferroni"]
    alpha_text = f"alpha = {column_values(uncorrected, 'alpha')}" if uncorrected else ""
    if corrected:
        alpha_text += f"{'; ' if uncorrected else ''}alpha/K rows: alpha = {column_values(corrected, 'alpha')}"
    lines = [f"Test subset: {describe_subsets(frames)}.",
             f"Certification (from the TSVs): N0 = {column_values(frames, 'n0')}, N = {column_values(frames, 'n')}, "
             f"{alpha_text}.",
             ACR_DEFINITION + " Each row's 'definition' names what its numbers guarantee."]
    if show_ass:
        lines.append("ASS = average search steps, the mean number of noise levels a search evaluated per example.")
    for table, setting in sorted({(p.table, p.setting) for p in papers}):
        lines.append(f"(paper x): the number in the paper's {table.replace('table', 'Table ')} ({setting}).")
    return tuple(lines)


def build_table(name: str, table_cfg: Mapping, results_dir: str, n_levels: int, sigma0: float,
                default_radii: Sequence[float], sound_cfg: Mapping | None = None) -> Table:
    """Evaluate every row of ``table_cfg`` and its companions (:func:`table_rows`; ``sound_cfg`` is the config's
    ``sound`` section): certified accuracy at each radius, ACR, ASS for search rows."""
    if not table_cfg.get("rows"):
        raise ValueError(f"table {name!r} has no rows: give tables.{name}.rows: [{{label, model, result}}, ...]")
    radii = [float(r) for r in table_cfg.get("radii") or default_radii]
    specs = table_rows(table_cfg, sound_cfg)
    results, papers, numbers, cells = [], [], [], []
    for spec in specs:
        row = load_row(results_dir, spec["model"], spec["result"], n_levels, sigma0)
        paper = paper_row(spec["paper_row"]) if spec.get("paper_row") else None
        results.append(row)
        papers += [paper] if paper else []
        cert_acc = analysis.certified_accuracy(row.frame, radii)
        number = {"label": spec["label"], "model": spec["model"], "result": spec["result"],
                  "definition": row.definition, "level": row.level,
                  "sigma": row.sigma,
                  **{f"ca_{r:g}": v for r, v in zip(radii, cert_acc)}, "acr": analysis.acr(row.frame),
                  "ass": row.ass, "n_examples": len(row.frame),
                  **{f"paper_ca_{r:g}": paper.cert_acc_at(r) if paper else None for r in radii},
                  "paper_acr": paper.acr if paper else None, "paper_ass": paper.ass if paper else None}
        cell = {"Method": spec["label"], "sigma": row.sigma_text,
                **{f"r={r:.2f}": with_paper(v, paper.cert_acc_at(r) if paper else None, 3)
                   for r, v in zip(radii, cert_acc)},
                "ACR": with_paper(number["acr"], paper.acr if paper else None, 3),
                "ASS": with_paper(row.ass, paper.ass if paper else None, 3),
                "definition": row.definition}
        numbers.append(number)
        cells.append(cell)
    show_ass = any(row.ass is not None for row in results)
    numbers_frame, cells_frame = pd.DataFrame(numbers).astype({"level": "Int64"}), pd.DataFrame(cells)
    if not show_ass:
        numbers_frame = numbers_frame.drop(columns=["ass", "paper_ass"])
        cells_frame = cells_frame.drop(columns=["ASS"])
    footer = certification_footer(results, show_ass, papers)
    if len(specs) > len(table_cfg["rows"]):
        footer += (COMPANION_NOTE,)
    return Table(name=name, title=table_cfg.get("title", name), caption=table_cfg.get("caption", ""),
                 numbers=numbers_frame, cells=cells_frame, footer=footer)


# ----------------------------------------------------------------------------------------- B.3 uniform sigma

def uniform_sigma_table(models: Sequence[str], results_dir: str, n_levels: int, sigma0: float,
                        paper_models: Mapping[str, str] | None = None) -> Table:
    """Appendix B.3: the level Alg. 3 chose on the test and on the validation inputs, against the level with
    the best certified test ACR (Figure 1(a), chosen with labels), with the certified ACR at each level.

    ``paper_models`` maps a model to a key of ``uniform_sigma.models`` in paper_numbers.yaml.
    """
    if not models:
        raise ValueError("the B.3 table needs at least one model: set analysis.b3.models")
    paper = paper_numbers()["uniform_sigma"]["models"]
    numbers, cells, first_levels = [], [], []
    for model in models:
        levels = analysis.aligned_levels(load_levels(results_dir, model, n_levels))
        first_levels.append(levels[1])
        by_level = analysis.acr_by_level(levels).set_index("level")["acr"]
        choice = analysis.best_uniform_acr(levels)
        test_level = analysis.chosen_level(read_tsv(uniform_path(results_dir, model, "test"), ["level", "chosen"]))
        validation_level = analysis.chosen_level(
            read_tsv(uniform_path(results_dir, model, "validation"), ["level", "chosen"]))
        reference = (paper_models or {}).get(model)
        if reference is not None and reference not in paper:
            raise ValueError(f"b3 paper model {reference!r} for {model} is not one of {sorted(paper)}")
        paper_entry = paper.get(reference, {})
        number = {"model": model, "uniform_test_level": test_level, "uniform_test_acr": by_level[test_level],
                  "uniform_validation_level": validation_level,
                  "uniform_validation_acr": by_level[validation_level],
                  "best_level": choice.level, "best_acr": choice.acr,
                  "paper_uniform_level": paper_entry.get("uniform_level"),
                  "paper_best_level": paper_entry.get("best_level")}

        def level_cell(level: int, paper_level: int | None) -> str:
            text = f"k={level} (sigma {level_to_sigma(level, sigma0):.3f}), ACR {by_level[level]:.3f}"
            return text if paper_level is None else f"{text} (paper k={paper_level})"

        numbers.append(number)
        cells.append({"Model": model, "Alg. 3 on test inputs": level_cell(test_level, number["paper_uniform_level"]),
                      "Alg. 3 on validation inputs": level_cell(validation_level, None),
                      "best level (Fig. 1(a), test labels)": level_cell(choice.level, number["paper_best_level"])})
    footer = (f"sigma_k = sqrt(k) * {sigma0:g}; ACR = certified test ACR of the fixed-sigma certification at that "
              f"level; test subset: {describe_subsets(first_levels)}.",
              "Alg. 3 maximizes ACR_hat (Eq. 5, label-free); the validation choice is a sound single-sigma "
              "certificate, the best level of Fig. 1(a) uses the test labels.",
              "(paper k=...): the level the paper reports in Appendix B.3 and Section 1 (Figure 1(a)).")
    return Table(name="b3", title="Uniform sigma from Algorithm 3 against the best level (Appendix B.3)",
                 caption="", numbers=pd.DataFrame(numbers).astype({c: "Int64" for c in numbers[0] if "level" in c}),
                 cells=pd.DataFrame(cells), footer=footer)


# ------------------------------------------------------------------------------------------- training speed

TIMING_KEYS = ("method", "seconds", "n_examples", "device")
ASSIGNMENT = {"insta": "Alg. 2 lazy updates (stage I)", "pfat": "grid search after stage 1"}


def read_timing(path: str) -> dict:
    """A ``sigma_assignment.json`` (written by :mod:`insta_rs.training.stages`): ``method``, ``seconds`` (wall
    time of the sigma assignment), ``n_examples``, ``device``; Insta-RS adds ``seconds_per_update_epoch``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; run the model's stage-I training (insta_stage1 or "
                                "pfat_assign)")
    with open(path) as handle:
        record = json.load(handle)
    missing = [key for key in TIMING_KEYS if key not in record]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}; re-run the model's stage-I training")
    if record["method"] not in ASSIGNMENT:
        raise ValueError(f"{path}: method {record['method']!r} is not one of {sorted(ASSIGNMENT)}")
    return record


def training_speed_table(timing_paths: Mapping[str, str], train_cfgs: Mapping[str, Mapping],
                         n_levels: int) -> Table:
    """Wall time of choosing the training sigmas (the paper's "Training Speed" paragraph), per model, with the
    paper's hours as reference rows.

    Insta-RS Train evaluates two levels (``l`` and ``l + 1``) of every training example at each update epoch
    (every ``L`` epochs of stage I, Alg. 2); PFAT evaluates all ``n_levels`` levels of every example once, after
    its first stage. ``timing_paths`` maps a model to its ``sigma_assignment.json``, ``train_cfgs`` a model to
    its ``train`` config entry (for the stage-I epochs).
    """
    if not timing_paths:
        raise ValueError("the training-speed table needs at least one model with train.method insta or pfat "
                         "and its own train.stage1")
    numbers, cells = [], []
    for model, path in timing_paths.items():
        record = read_timing(path)
        updates = len(record.get("seconds_per_update_epoch", {})) if record["method"] == "insta" else 1
        numbers.append({"source": "reproduced", "model": model, "method": record["method"],
                        "seconds": float(record["seconds"]), "hours": float(record["seconds"]) / 3600,
                        "n_examples": int(record["n_examples"]),
                        "stage1_epochs": int(train_cfgs[model]["stage1"]["epochs"]), "sigma_updates": updates,
                        "levels_per_update": 2 if record["method"] == "insta" else n_levels,
                        "device": record["device"]})
    reference = paper_numbers()["training_speed"]
    for entry in reference["entries"].values():
        numbers.append({"source": "paper", "model": entry["label"], "method": entry["method"],
                        "seconds": entry["hours"] * 3600, "hours": entry["hours"], "device": reference["setting"]})
    frame = pd.DataFrame(numbers).astype({"n_examples": "Int64", "stage1_epochs": "Int64", "sigma_updates": "Int64",
                                          "levels_per_update": "Int64"})

    def count(value) -> str:
        return "-" if pd.isna(value) else str(int(value))

    for _, row in frame.iterrows():
        cells.append({"Model": row["model"] if row["source"] == "reproduced" else f"{row['model']} (paper)",
                      "Method": row["method"], "sigma assignment": ASSIGNMENT[row["method"]],
                      "seconds": f"{row['seconds']:.2f}", "hours": f"{row['hours']:.4f}",
                      "training examples": count(row["n_examples"]), "stage-I epochs": count(row["stage1_epochs"]),
                      "sigma updates": count(row["sigma_updates"]),
                      "levels per example and update": count(row["levels_per_update"]), "device": row["device"]})
    paper_hours = {entry["method"]: entry["hours"] for entry in reference["entries"].values()}
    footer = ["Wall time of the sigma assignment only (not of the training steps), from each model's "
              "sigma_assignment.json.",
              f"Paper rows: the paper's Section 5 (Training Speed), {reference['setting']}; PFAT took "
              f"{paper_hours['pfat'] / paper_hours['insta']:.1f}x Insta-RS Train's time there."]
    reproduced = frame[frame["source"] == "reproduced"].groupby("method")["seconds"].mean()
    if {"insta", "pfat"} <= set(reproduced.index) and reproduced["insta"] > 0:
        footer.append(f"Here PFAT's mean assignment time is {reproduced['pfat'] / reproduced['insta']:.1f}x "
                      "Insta-RS Train's mean.")
    return Table(name="training_speed", title="Training speed: time to assign the training sigmas",
                 caption="", numbers=frame, cells=pd.DataFrame(cells), footer=tuple(footer))


# ------------------------------------------------------------------------------------------------ rendering

def render_markdown(table: Table) -> str:
    """A Markdown table with the title as heading, the caption above and the footer below."""
    header = list(table.cells.columns)
    lines = [f"### {table.title}", ""]
    if table.caption:
        lines += [table.caption.strip(), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---:" if is_number_column(c) else "---" for c in header) + "|")
    for _, row in table.cells.iterrows():
        lines.append("| " + " | ".join(str(row[c]).replace("|", "\\|") for c in header) + " |")
    lines.append("")
    lines += [f"{line}  " for line in table.footer]
    return "\n".join(lines).rstrip() + "\n"


def is_number_column(name: str) -> bool:
    """Columns of numbers (certified accuracies, ACR, ASS, times), right-aligned when rendered."""
    return name.startswith("r=") or name in ("ACR", "ASS", "seconds", "hours")


LATEX_SPECIALS = {"<": r"\textless{}", ">": r"\textgreater{}", "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%",
                  "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def render_latex(table: Table) -> str:
    """A booktabs ``table`` environment; the caption holds title, caption and footer."""
    header = list(table.cells.columns)
    spec = "".join("p{5cm}" if c == "definition" else "r" if is_number_column(c) else "l" for c in header)
    caption = " ".join(latex_escape(part) for part in (table.title + ".", table.caption, *table.footer) if part)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{caption}}}",
             rf"\label{{tab:{latex_escape(table.name)}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in header) + r" \\", r"\midrule"]
    for _, row in table.cells.iterrows():
        lines.append(" & ".join(latex_escape(row[c]) for c in header) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def render_tsv(table: Table) -> str:
    """The numbers, tab-separated, 6 decimals, empty where a value (e.g. a paper number) is absent."""
    return table.numbers.to_csv(sep="\t", index=False, float_format="%.6f", na_rep="")


def write_table(table: Table, md_path: str, tex_path: str, tsv_path: str) -> None:
    """Write the three renderings atomically."""
    atomic_write_text(md_path, render_markdown(table))
    atomic_write_text(tex_path, render_latex(table))
    atomic_write_text(tsv_path, render_tsv(table))
