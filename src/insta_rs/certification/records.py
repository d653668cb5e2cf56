"""The certification TSV format (Cohen et al. compatible): columns, formatting, row checks, reading.

Every row of ours is checked (:func:`row_problem`) before it is kept from a partial file or written into a final
one, and a reader that meets a bad value names the file and line.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from pathlib import Path
from statistics import NormalDist
from typing import Sequence

import numpy as np
import pandas as pd

from insta_rs.files import atomic_write

CERTIFY_COLUMNS = [
    "idx", "label", "predict", "radius", "correct", "time",
    "sigma", "pA_lower", "c_hat", "nA", "nB", "n0A", "n0", "n", "alpha", "seed",
    "n_used", "procedure",
]
ABSTAIN = -1  # the predict column of an abstention
FIXED_N = "cohen"  # the procedure column of Cohen et al.'s CERTIFY (N fixed in advance)


def format_certify_row(row: dict) -> str:
    """One TSV line in :data:`CERTIFY_COLUMNS` order; radius and pA_lower with 6 decimals."""
    fields = {
        **row,
        "radius": f"{row['radius']:.6f}",
        "pA_lower": f"{row['pA_lower']:.6f}",
        "sigma": f"{row['sigma']:.6f}",
        "time": f"{row['time']:.4f}",
        "alpha": f"{row['alpha']:g}",
    }
    return "\t".join(str(fields[name]) for name in CERTIFY_COLUMNS) + "\n"


CERTIFY_HEADER = "\t".join(CERTIFY_COLUMNS) + "\n"
INTEGERS = ("idx", "label", "predict", "correct", "c_hat", "nA", "nB", "n0A", "n0", "n", "seed", "n_used")
NUMBERS = ("radius", "sigma", "pA_lower", "alpha", "time")
ROUNDING = 5e-7  # pA_lower, sigma and radius are written with 6 decimals


def _phi_inv(p: float) -> float:
    return NormalDist().inv_cdf(min(max(p, 1e-300), 1 - 1e-16))


def row_problem(fields: Sequence[str], num_classes: int | None = None, cohen_radius: bool = False) -> str | None:
    """What is wrong with a row of our certification TSV (its fields as text), or None when it is valid: the
    field count, types and ranges (the model's classes ``0..num_classes - 1`` for predict, or -1 to abstain, and c_hat,
    ``0 <= pA_lower <= 1``, counts within N0 and N), ``correct`` agreeing with ``predict`` and ``label``, and the
    radius agreeing with sigma and pA_lower, up to the written decimals: 0 on abstain, else at most
    ``sigma * PhiInv(pA_lower)`` (sound modes and the sequential decision mode report less), and equal to it with
    ``cohen_radius`` (a certification that reports Cohen et al.'s radius)."""
    if len(fields) != len(CERTIFY_COLUMNS):
        return f"{len(fields)} fields where the header has {len(CERTIFY_COLUMNS)}"
    row = dict(zip(CERTIFY_COLUMNS, fields))
    try:
        v = {name: int(row[name]) for name in INTEGERS} | {name: float(row[name]) for name in NUMBERS}
    except ValueError as error:
        return str(error)

    def is_class(value: int) -> bool:
        return 0 <= value and (num_classes is None or value < num_classes)

    checks = [
        (v["idx"] >= 0, "idx < 0"),
        (v["label"] >= 0, f"label {v['label']} < 0"),  # the data set's class (a selector's outputs are others)
        (v["predict"] == -1 or is_class(v["predict"]), f"predict {v['predict']} is neither a class nor -1"),
        (is_class(v["c_hat"]), f"c_hat {v['c_hat']} is not a class"),
        (v["correct"] == int(v["predict"] == v["label"]), "correct disagrees with predict and label"),
        (0 <= v["pA_lower"] <= 1, f"pA_lower {v['pA_lower']} is not in [0, 1]"),
        (0 < v["sigma"] < math.inf, f"sigma {v['sigma']} is not > 0"),
        (0 < v["alpha"] < 1, f"alpha {v['alpha']} is not in (0, 1)"),
        (0 <= v["n0A"] <= v["n0"], "n0A is not within 0..N0"),
        (1 <= v["n_used"] <= v["n"], "n_used is not within 1..N"),
        (row["procedure"] != FIXED_N or v["n_used"] == v["n"], "n_used differs from N for fixed-N CERTIFY"),
        (0 <= v["nA"] and 0 <= v["nB"] and v["nA"] + v["nB"] <= v["n_used"], "nA + nB exceeds the samples drawn"),
        (0 <= v["radius"] < math.inf, f"radius {v['radius']} is not >= 0"),
        (v["predict"] >= 0 or v["radius"] == 0, "radius > 0 on abstain"),
        (v["predict"] == -1 or v["pA_lower"] >= 0.5 - ROUNDING, "a prediction with pA_lower < 1/2"),
        (bool(row["procedure"]), "no procedure"),
    ]
    problems = [problem for passed, problem in checks if not passed]
    if problems or v["predict"] == -1:
        return problems[0] if problems else None
    largest = (v["sigma"] + ROUNDING) * _phi_inv(min(1.0, v["pA_lower"] + ROUNDING)) + ROUNDING
    smallest = (v["sigma"] - ROUNDING) * _phi_inv(max(0.5, v["pA_lower"] - ROUNDING)) - ROUNDING
    if v["radius"] > largest:
        return f"radius {v['radius']} exceeds sigma * PhiInv(pA_lower) = {largest:.6f}"
    if cohen_radius and v["radius"] < smallest:
        return f"radius {v['radius']} is below sigma * PhiInv(pA_lower) = {smallest:.6f}"
    return None


def write_certification_rows(path: str | os.PathLike, rows: Sequence[str], num_classes: int | None = None,
                             cohen_radius: bool = False, extra_columns: Sequence[str] = ()) -> None:
    """Write formatted rows under the header (and ``extra_columns`` after ours), atomically, after checking every
    one (:func:`row_problem`, on our columns): a bad row is an error naming the file and row, and nothing is
    written."""
    for number, line in enumerate(rows, start=2):
        problem = row_problem(line.rstrip("\n").split("\t")[:len(CERTIFY_COLUMNS)], num_classes, cohen_radius)
        if problem:
            raise ValueError(f"{path}, line {number}: {problem}; not written")
    with atomic_write(path) as handle:
        handle.write("\t".join([*CERTIFY_COLUMNS, *extra_columns]) + "\n" + "".join(rows))


def write_certification(frame: pd.DataFrame, path: str | os.PathLike, extra_columns: Sequence[str] = ()) -> None:
    """Write a frame with :data:`CERTIFY_COLUMNS` as our certification TSV, atomically and checked, followed by
    ``extra_columns`` (integers as they are, other numbers with 6 significant digits; :func:`read_certification`
    keeps them)."""
    rows = []
    for row in frame[[*CERTIFY_COLUMNS, *extra_columns]].to_dict("records"):
        extra = "".join(f"\t{row[name]}" if isinstance(row[name], (int, np.integer)) else f"\t{row[name]:.6g}"
                        for name in extra_columns)
        rows.append(format_certify_row(row).rstrip("\n") + extra + "\n")
    write_certification_rows(path, rows, extra_columns=extra_columns)


_CLOCK_TIME = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d*)?)$")


def parse_time(value: object) -> float:
    """Seconds from float seconds or a ``datetime.timedelta`` string such as ``0:02:32.717239``."""
    text = str(value).strip()
    match = _CLOCK_TIME.match(text)
    if match is None:
        return float(text)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def read_certification(path: str | os.PathLike) -> pd.DataFrame:
    """Read our certification TSV or a published Cohen / SmoothAdv one.

    Cohen writes the radius with 3 significant digits and the time as ``H:MM:SS.ffffff``;
    SmoothAdv writes 4 decimals and float seconds. Extra columns (ours) are kept. Files without a
    ``procedure`` column (published ones, ours before it existed) were made by fixed-N CERTIFY: they read
    as ``procedure = "cohen"`` and, where they have ``n``, ``n_used = n``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"certification file {path} does not exist; run the workflow rule that makes it")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in CERTIFY_COLUMNS[:6] if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a certification TSV, missing columns {missing} "
                         f"(expected header: {' '.join(CERTIFY_COLUMNS[:6])})")
    for name in frame.columns:
        convert = parse_time if name == "time" else int if name in INTEGERS else float if name in NUMBERS else None
        if convert is not None:
            frame[name] = _converted(frame[name], convert, path)
        elif name != "procedure":  # a mode's own columns (e.g. Dual RS's radius_selector): numbers where they parse
            with contextlib.suppress(ValueError):
                frame[name] = pd.to_numeric(frame[name])
    if "procedure" not in frame.columns:
        frame["procedure"] = FIXED_N
        if "n" in frame.columns and "n_used" not in frame.columns:
            frame["n_used"] = frame["n"]
    return frame


def _converted(column: pd.Series, convert, path: str | os.PathLike) -> pd.Series:
    """``column`` converted value by value; ValueError naming the file, line and value that do not convert."""
    values = []
    for number, text in enumerate(column, start=2):
        try:
            values.append(convert(text))
        except ValueError:
            raise ValueError(f"{path}, line {number}: {column.name} = {text!r} is not a valid value; the file is "
                             "damaged: delete it and re-run the rule that makes it") from None
    return pd.Series(values, index=column.index, name=column.name)
