"""The collapse tables (:mod:`insta_rs.collapse`): do noise levels, or certified predictions, go with a few classes?

``collapse_training``: per model and class, how many training examples ended at each level: Algorithm 2's levels
after its last update (``levels/epoch_<k>.tsv``), PFAT's grid assignment, Dual RS's selector labels; with the
effective number of classes at each level. ``collapse_levels``: per model and fixed level, the certified
predictions' class distribution (effective number of classes, top class and its share), flagged where they
concentrate on few classes, the signature of a model that learned "strong noise means this class".
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from insta_rs import collapse
from insta_rs.certification.records import read_certification
from insta_rs.files import read_tsv
from insta_rs.report.render import Table

FLAG = "CONCENTRATED"
MEASURE = (f"N_eff = effective number of classes, 1 / sum_c p_c^2 (10 for ten equally used classes, 1 for one); "
           f"{FLAG} where it is below half that of the examples' labels (insta_rs.collapse).")


def final_levels(path: str) -> tuple[str, np.ndarray]:
    """``(what, levels by training index)`` of a model's training-level file: the last ``epoch_<k>.tsv`` of an
    Algorithm 2 levels directory, PFAT's ``assigned_levels.tsv`` or Dual RS's ``selector_labels.tsv`` (examples
    without a label are -1)."""
    path = Path(path)
    if path.is_dir():
        epochs = sorted(path.glob("epoch_*.tsv"), key=lambda file: int(file.stem.split("_")[1]))
        if not epochs:
            raise FileNotFoundError(f"{path} holds no epoch_<k>.tsv; re-run the model's stage I")
        frame = read_tsv(epochs[-1], ["index", "level"])
        return f"Alg. 2 levels after epoch {epochs[-1].stem.split('_')[1]}", frame.sort_values("index")["level"].to_numpy()
    if path.name == "selector_labels.tsv":
        frame = read_tsv(path, ["index", "selector_level"])
        return "Dual RS selector labels", frame.sort_values("index")["selector_level"].to_numpy()
    frame = read_tsv(path, ["index", "level"])
    return "PFAT grid assignment", frame.sort_values("index")["level"].to_numpy()


def training_collapse_table(level_files: Mapping[str, str], labels: np.ndarray, n_levels: int,
                            num_classes: int) -> Table:
    """Per model (``{model: file}`` of :func:`final_levels`) and class: training examples at each level."""
    numbers, cells = [], []
    for model, path in level_files.items():
        what, levels = final_levels(path)
        labelled = levels >= 1
        counts = collapse.class_level_counts(labels[labelled], levels[labelled], n_levels, num_classes)
        by_level = collapse.level_class_concentration(counts)
        for label, row in enumerate(counts):
            numbers.append({"model": model, "levels": what, "class": label, **{f"l{k}": n for k, n in
                                                                                enumerate(row, start=1)}})
        numbers.append({"model": model, "levels": what, "class": "N_eff", **{
            f"l{k}": round(e, 2) if not np.isnan(e) else None for k, e in enumerate(by_level["effective_classes"], 1)}})
        numbers.append({"model": model, "levels": what, "class": FLAG, **{
            f"l{k}": int(flag) for k, flag in enumerate(by_level["concentrated"], start=1)}})
    for number in numbers:
        cells.append({"Model": number["model"], "levels": number["levels"], "class": number["class"],
                      **{f"k={k}": _cell(number[f"l{k}"], number["class"]) for k in range(1, n_levels + 1)}})
    footer = ("Training examples of each class at each level (k: sigma_k = sqrt(k) sigma0); the log of each training "
              "step has the same after every level update.", MEASURE)
    return Table(name="collapse_training", title="Collapse diagnostics: training levels by class", caption="",
                 numbers=pd.DataFrame(numbers), cells=pd.DataFrame(cells), footer=footer)


def _cell(value, row) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if row == FLAG:
        return "yes" if value else ""
    return f"{value:.1f}" if row == "N_eff" else str(value)


def levels_collapse_table(level_files: Mapping[str, list[str]], num_classes: int) -> Table:
    """Per model (``{model: [level1.tsv, ...]}``) and level: the class distribution of the certified predictions."""
    numbers = []
    for model, paths in level_files.items():
        for level, path in enumerate(paths, start=1):
            frame = read_certification(path)
            summary = collapse.certified_concentration(frame, num_classes)
            numbers.append({"model": model, "level": level, "sigma": float(frame["sigma"].iloc[0]),
                            "certified": summary["n"], "effective_classes": summary["effective_classes"],
                            "labels_effective_classes": summary["reference_classes"],
                            "top_class": summary["top_class"], "top_share": summary["top_share"],
                            "concentrated": int(summary["concentrated"])})
    frame = pd.DataFrame(numbers)
    cells = pd.DataFrame({"Model": frame["model"], "level": frame["level"],
                          "sigma": frame["sigma"].map("{:.3f}".format), "certified": frame["certified"],
                          "N_eff": frame["effective_classes"].map(lambda e: "-" if np.isnan(e) else f"{e:.1f}"),
                          "top class": frame["top_class"],
                          "top share": frame["top_share"].map(lambda s: "-" if np.isnan(s) else f"{s:.2f}"),
                          FLAG: frame["concentrated"].map({1: "yes", 0: ""})})
    footer = ("Certified predictions (predict >= 0, right or wrong) of each model's fixed-level certification of the "
              "test subset, by class: a model whose certified predictions at large sigma fall on few classes "
              "learned the noise level as a class cue, and any label-free choice of that sigma inherits it.", MEASURE)
    return Table(name="collapse_levels", title="Collapse diagnostics: certified predictions by class at each level",
                 caption="", numbers=frame, cells=cells, footer=footer)
