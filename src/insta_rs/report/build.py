"""A configured result table (``tables.<name>``): certified accuracy at each radius, ACR and ASS per row,
the paper's numbers beside ours, and a footer that says what the numbers are (test subset, N0, N, alpha as
read from the certification files, the ACR definition).

A table config is ``{title, caption, radii (optional), companions (optional, default true), rows: [{label,
model, result, paper_row (optional)}]}``; :mod:`.rows` says what each ``result`` means.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from insta_rs import analysis, collapse
from insta_rs.certification.records import FIXED_N
from insta_rs.layout import Layout
from insta_rs.report.collapse_tables import FLAG
from insta_rs.report.paper import PaperRow, paper_row
from insta_rs.report.render import Table
from insta_rs.report.rows import COMPANION_NOTE, RowResult, load_row, table_rows

ACR_DEFINITION = ("ACR = mean_i radius_i * correct_i over the test subset (wrong and abstained examples count 0); "
                  "certified accuracy at r = fraction of test examples predicted correctly with radius >= r.")
RANKING = ("Rank methods by certified accuracy at the radii (the r= columns): ACR can reward a model that answers one "
           "class at a large sigma, since a few examples of that class get very large radii (Sun et al., ICML 2025); "
           "read ACR beside the classes column.")
GUARD_NOTE = ("collapse guard: the project's own choices of sigma (validation split, cascade, semi-elastic sigma, Dual "
              "RS labels) leave out the levels whose certified validation predictions collapse onto few classes "
              "(insta_rs.collapse; analysis.collapse_guard); a row's definition says where that changed its choice. The "
              "paper's rows are as the paper defines them.")


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


def procedures_of(frame: pd.DataFrame) -> str:
    """The certification procedures of a frame's rows (its ``procedure`` column), ``"; "``-separated."""
    return "; ".join(sorted(set(frame["procedure"].astype(str))))


def mean_samples(frame: pd.DataFrame) -> float:
    """Mean estimation samples per example (``n_used``; N for fixed-N CERTIFY)."""
    return float(frame["n_used"].mean()) if "n_used" in frame else float("nan")


def certification_footer(rows: Sequence[RowResult], show_ass: bool, papers: Sequence[PaperRow]) -> tuple[str, ...]:
    """Footer lines: test subset, N0 / N / alpha as read from the certification TSVs, definitions."""
    frames = [row.frame for row in rows]
    corrected = [row.frame for row in rows if row.kind == "oracle_bonferroni"]
    uncorrected = [row.frame for row in rows if row.kind != "oracle_bonferroni"]
    alpha_text = f"alpha = {column_values(uncorrected, 'alpha')}" if uncorrected else ""
    if corrected:
        alpha_text += f"{'; ' if uncorrected else ''}alpha/K rows: alpha = {column_values(corrected, 'alpha')}"
    procedures = sorted({name for frame in frames for name in procedures_of(frame).split("; ")})
    lines = [f"Test subset: {describe_subsets(frames)}.",
             f"Certification (from the TSVs): N0 = {column_values(frames, 'n0')}, N = {column_values(frames, 'n')}, "
             f"{alpha_text}; procedure {', '.join(procedures)}.",
             ACR_DEFINITION + " Each row's 'definition' names what its numbers guarantee.", RANKING]
    if procedures != [FIXED_N]:
        lines.append("Procedures: cohen = Cohen et al.'s CERTIFY with N samples for every example; sequential:<mode>:"
                     "... = anytime-valid rounds with N the cap (insta_rs.certification.sequential; mode, tolerance or decided "
                     "radii, first round x growth, the cap's share of alpha); 'samples' = mean estimation samples "
                     "per example.")
    if show_ass:
        lines.append("ASS = average search steps, the mean number of noise levels a search evaluated per example.")
    for table, setting in sorted({(p.table, p.setting) for p in papers}):
        lines.append(f"(paper x): the number in the paper's {table.replace('table', 'Table ')} ({setting}).")
    return tuple(lines)


def build_table(name: str, table_cfg: Mapping, layout: Layout, n_levels: int, sigma0: float,
                default_radii: Sequence[float], sound_cfg: Mapping | None = None,
                num_classes: int | None = None) -> Table:
    """Evaluate every row of ``table_cfg`` and its companions (:func:`table_rows`; ``sound_cfg`` is the config's
    ``sound`` section): certified accuracy at each radius, ACR, ASS for search rows, and the effective number of
    classes among the certified predictions (flagged where they concentrate on few: :mod:`insta_rs.collapse`)."""
    if not table_cfg.get("rows"):
        raise ValueError(f"table {name!r} has no rows: give tables.{name}.rows: [{{label, model, result}}, ...]")
    radii = [float(r) for r in table_cfg.get("radii") or default_radii]
    specs = table_rows(table_cfg, sound_cfg)
    results, papers, numbers, cells = [], [], [], []
    for spec in specs:
        row = load_row(layout, spec["model"], spec["result"], n_levels, sigma0)
        paper = paper_row(spec["paper_row"]) if spec.get("paper_row") else None
        results.append(row)
        papers += [paper] if paper else []
        cert_acc = analysis.certified_accuracy(row.frame, radii)
        classes = collapse.certified_concentration(row.frame, num_classes or int(row.frame["label"].max()) + 1)
        definition = f"{row.definition}; {row.note}" if row.note else row.definition
        number = {"label": spec["label"], "model": spec["model"], "result": spec["result"],
                  "definition": definition, "level": row.level,
                  "sigma": row.sigma,
                  **{f"ca_{r:g}": v for r, v in zip(radii, cert_acc)}, "acr": analysis.acr(row.frame),
                  "ass": row.ass, "n_examples": len(row.frame), "procedure": procedures_of(row.frame),
                  "mean_samples": mean_samples(row.frame), "certified_classes": classes["effective_classes"],
                  "concentrated": int(classes["concentrated"]),
                  **{f"paper_ca_{r:g}": paper.cert_acc_at(r) if paper else None for r in radii},
                  "paper_acr": paper.acr if paper else None, "paper_ass": paper.ass if paper else None}
        cell = {"Method": spec["label"], "sigma": row.sigma_text,
                **{f"r={r:.2f}": with_paper(v, paper.cert_acc_at(r) if paper else None, 3)
                   for r, v in zip(radii, cert_acc)},
                "ACR": with_paper(number["acr"], paper.acr if paper else None, 3),
                "ASS": with_paper(row.ass, paper.ass if paper else None, 3),
                "samples": f"{number['mean_samples']:,.0f}",
                "classes": f"{classes['effective_classes']:.1f}" + (f" {FLAG}" if classes["concentrated"] else ""),
                "definition": definition}
        numbers.append(number)
        cells.append(cell)
    show_ass = any(row.ass is not None for row in results)
    numbers_frame, cells_frame = pd.DataFrame(numbers).astype({"level": "Int64"}), pd.DataFrame(cells)
    if not show_ass:
        numbers_frame = numbers_frame.drop(columns=["ass", "paper_ass"])
        cells_frame = cells_frame.drop(columns=["ASS"])
    if set(numbers_frame["procedure"]) == {FIXED_N}:  # N estimation samples for every example: the footer says N
        cells_frame = cells_frame.drop(columns=["samples"])
    footer = certification_footer(results, show_ass, papers)
    if numbers_frame["concentrated"].any():
        footer += (f"classes = effective number of classes among a row's certified predictions; {FLAG}: they fall on "
                   "few classes (fewer than half as many as the labels), a collapse of the level or sigma choice "
                   "onto a class (insta_rs.collapse; tables collapse_training and collapse_levels).",)
    if len(specs) > len(table_cfg["rows"]):
        footer += (COMPANION_NOTE,)
    if any(row.note for row in results):
        footer += (GUARD_NOTE,)
    return Table(name=name, title=table_cfg.get("title", name), caption=table_cfg.get("caption", ""),
                 numbers=numbers_frame, cells=cells_frame, footer=footer)
