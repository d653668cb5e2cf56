"""The training-speed table: wall time of choosing the training sigmas, Insta-RS Train (Algorithm 2) against
PFAT's grid assignment, beside the paper's hours (its Section 5, "Training Speed")."""

from __future__ import annotations

import json
import os
from typing import Mapping

import pandas as pd

from insta_rs.report.paper import paper_numbers
from insta_rs.report.render import Table
from insta_rs.training.two_stage import TWO_STAGE_METHODS

TIMING_KEYS = ("method", "seconds", "n_examples", "device")


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
    if record["method"] not in TWO_STAGE_METHODS:
        raise ValueError(f"{path}: method {record['method']!r} is not one of {sorted(TWO_STAGE_METHODS)}")
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
        updates = len(record["seconds_per_update_epoch"]) if "seconds_per_update_epoch" in record else 1
        numbers.append({"source": "reproduced", "model": model, "method": record["method"],
                        "seconds": float(record["seconds"]), "hours": float(record["seconds"]) / 3600,
                        "n_examples": int(record["n_examples"]),
                        "stage1_epochs": int(train_cfgs[model]["stage1"]["epochs"]), "sigma_updates": updates,
                        "levels_per_update": TWO_STAGE_METHODS[record["method"]].levels_per_update(n_levels),
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
                      "Method": row["method"], "sigma assignment": TWO_STAGE_METHODS[row["method"]].assignment,
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
