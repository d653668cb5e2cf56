"""Figures from the synthetic results of test_tables: typical-example picks, plotted data, reproducible bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_tables import N_LEVELS, SIGMA0, write_synthetic_results

from insta_rs import analysis
from insta_rs.layout import Layout
from insta_rs.report import figures


@pytest.fixture
def levels(tmp_path: Path) -> dict[int, pd.DataFrame]:
    write_synthetic_results(tmp_path)
    return figures.load_levels(Layout(str(tmp_path)), "m", N_LEVELS)


def test_typical_examples_have_their_shapes(levels) -> None:
    # idx 0 rises; idx 2 peaks at level 3; idx 4 and 10 are certified at levels 1-2 only, idx 10 with the
    # larger radius at level 1.
    assert figures.pick_typical_examples(levels) == {"rising": 0, "peaked": 2, "small sigma only": 10}


def test_typical_examples_fall_back_to_distinct_examples() -> None:
    flat = {k: pd.DataFrame({"idx": [0, 1, 2], "label": 0, "predict": 0, "radius": [0.3, 0.2, 0.1],
                             "correct": 1}) for k in (1, 2, 3)}
    picked = figures.pick_typical_examples(flat)
    assert sorted(picked.values()) == [0, 1, 2]


def test_acr_vs_sigma_plots_the_level_acr(levels) -> None:
    by_level = analysis.acr_by_level(levels)
    figure = figures.acr_vs_sigma_figure({"m": by_level}, SIGMA0)
    line = figure.axes[0].lines[0]
    np.testing.assert_allclose(line.get_xdata(), np.arange(1, N_LEVELS + 1) * SIGMA0 ** 2)
    np.testing.assert_allclose(line.get_ydata(), by_level["acr"])


def test_certified_accuracy_curve_starts_at_clean_accuracy(levels) -> None:
    figure = figures.certified_accuracy_figure({"level 1": levels[1]}, max_radius=2.0)
    y = figure.axes[0].lines[0].get_ydata()
    assert y[0] == pytest.approx(analysis.certified_accuracy(levels[1], [0.0])[0])
    assert np.all(np.diff(y) <= 0) and y[-1] == 0.0


def test_sigma_histogram_counts(tmp_path: Path) -> None:
    searches = {"grid": pd.DataFrame({"level": [4, 2, 1, 2, 1, 1]}), "fgss": pd.DataFrame({"level": [4, 2, 1, 1]})}
    figure = figures.sigma_histogram_figure(searches, N_LEVELS, SIGMA0)
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    assert heights == [3, 2, 0, 1, 2, 1, 0, 1]      # grid bars for levels 1..4, then fgss bars


def test_saved_files_are_byte_identical_across_runs(levels, tmp_path: Path) -> None:
    picked = figures.pick_typical_examples(levels)
    outputs = []
    for run in ("a", "b"):
        png, pdf = tmp_path / f"{run}.png", tmp_path / f"{run}.pdf"
        figures.save_figure(figures.radius_vs_sigma_figure(levels, picked, SIGMA0), str(png), str(pdf))
        outputs.append((png.read_bytes(), pdf.read_bytes()))
    assert outputs[0] == outputs[1]
    png_bytes, pdf_bytes = outputs[0]
    assert png_bytes.startswith(b"\x89PNG") and pdf_bytes.startswith(b"%PDF")
    assert b"CreationDate" not in pdf_bytes


def test_per_instance_curves_say_which_radius_they_show(levels) -> None:
    figure = figures.certified_accuracy_figure({"RS": levels[4], "Insta-RS": levels[2]}, max_radius=1.0,
                                               title="Fig. 3(a)", per_instance=["Insta-RS"])
    axes = figure.axes[0]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["RS", "Insta-RS (per-instance fixed-sigma radius, as in the paper)"]
    assert axes.get_title().startswith("Fig. 3(a)\n") and "not a certificate" in axes.get_title()
    plain = figures.certified_accuracy_figure({"RS": levels[4]}, max_radius=1.0, title="Fig. 3(a)")
    assert plain.axes[0].get_title() == "Fig. 3(a)"
    histogram = figures.sigma_histogram_figure({"grid": pd.DataFrame({"level": [1, 2]})}, N_LEVELS, SIGMA0)
    assert "per-instance fixed-sigma radius" in histogram.axes[0].get_title()
