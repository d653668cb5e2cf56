"""Appendix B.3: the uniform sigma of Algorithm 3 (on the test and on the validation inputs) against the level
with the best certified test ACR (Figure 1(a))."""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from insta_rs import analysis
from insta_rs.certification.records import read_certification
from insta_rs.files import read_tsv
from insta_rs.layout import Layout
from insta_rs.levels import level_sigma
from insta_rs.report.build import describe_subsets
from insta_rs.report.paper import paper_numbers
from insta_rs.report.render import Table


def uniform_sigma_table(models: Sequence[str], layout: Layout, n_levels: int, sigma0: float,
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
        levels = analysis.aligned_levels({k: read_certification(path)
                                           for k, path in enumerate(layout.levels(model, n_levels), start=1)})
        first_levels.append(levels[1])
        by_level = analysis.acr_by_level(levels).set_index("level")["acr"]
        choice = analysis.best_uniform_acr(levels)
        test_level = analysis.chosen_level(read_tsv(layout.uniform(model, "test"), ["level", "chosen"]))
        validation_level = analysis.chosen_level(
            read_tsv(layout.uniform(model, "validation"), ["level", "chosen"]))
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
            text = f"k={level} (sigma {level_sigma(level, sigma0):.3f}), ACR {by_level[level]:.3f}"
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
