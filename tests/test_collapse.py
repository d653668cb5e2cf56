"""Collapse diagnostics (insta_rs.collapse): per-class level histograms, the class distribution of certified
predictions and the concentration flag, on hand-made inputs with known answers; and the training log's per-class
histograms after each level update."""

import logging

import numpy as np
import pandas as pd
import pytest

from insta_rs import collapse


def test_class_level_counts():
    labels = np.array([0, 0, 1, 2, 2, 2])
    levels = np.array([1, 3, 3, 2, 2, 3])
    counts = collapse.class_level_counts(labels, levels, n_levels=4)
    assert counts.tolist() == [[1, 0, 1, 0], [0, 0, 1, 0], [0, 2, 1, 0]]
    assert collapse.class_level_counts(labels, levels, 4, n_classes=5).shape == (5, 4)
    with pytest.raises(ValueError, match="1..4"):
        collapse.class_level_counts(labels, levels + 2, n_levels=4)


def test_effective_classes_is_the_inverse_simpson_index():
    assert collapse.effective_classes(np.full(10, 7)) == pytest.approx(10.0)
    assert collapse.effective_classes(np.array([5, 5, 0, 0])) == pytest.approx(2.0)
    assert collapse.effective_classes(np.array([97, 1, 1, 1])) == pytest.approx(1 / (0.97 ** 2 + 3 * 0.01 ** 2))
    assert np.isnan(collapse.effective_classes(np.zeros(3)))


def test_concentration_flag_against_uniform_and_against_a_reference():
    balanced = collapse.concentration(np.array([48, 52, 50, 45, 55, 50, 49, 51, 50, 50]))
    assert not balanced["concentrated"] and balanced["effective_classes"] > 9.9 and balanced["chance_share"] == 0.1
    two = collapse.concentration(np.array([0, 0, 0, 0, 60, 0, 0, 40, 0, 0]))  # the digits demo's 4s and 7s
    assert two["concentrated"] and two["top_class"] == 4 and two["top_share"] == 0.6
    assert two["effective_classes"] == pytest.approx(1 / (0.36 + 0.16))
    assert not collapse.concentration(np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0]))["concentrated"]  # 6 classes
    assert collapse.concentration(np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]))["concentrated"]  # 4 < 10 / 2
    # against a reference that is itself concentrated on two classes, two classes are not a collapse
    assert not collapse.concentration(np.array([10, 10, 0]), reference=np.array([50, 50, 1]))["concentrated"]
    empty = collapse.concentration(np.zeros(10))
    assert not empty["concentrated"] and empty["n"] == 0 and empty["top_class"] == -1


def test_certified_predictions_and_their_flag():
    labels = np.repeat(np.arange(10), 5)
    healthy = pd.DataFrame({"label": labels, "predict": np.where(np.arange(50) % 7 == 0, -1, labels)})
    assert collapse.predicted_class_counts(healthy, 10).sum() == 50 - 8  # abstentions are not predictions
    assert not collapse.certified_concentration(healthy, 10)["concentrated"]
    frog = pd.DataFrame({"label": labels, "predict": np.where(np.arange(50) % 3 == 0, -1, 6)})
    flag = collapse.certified_concentration(frog, 10)
    assert flag["concentrated"] and flag["top_class"] == 6 and flag["top_share"] == 1.0


def test_per_level_concentration_finds_the_one_class_top_level():
    labels = np.repeat(np.arange(10), 20)
    levels = np.where(labels == 6, 16, 1 + np.arange(200) % 4)  # every frog at the top level
    counts = collapse.class_level_counts(labels, levels, 16)
    per_level = collapse.level_class_concentration(counts)
    assert per_level.loc[per_level["level"] == 16, "concentrated"].item()
    assert per_level.loc[per_level["level"] == 16, "effective_classes"].item() == pytest.approx(1.0)
    assert not per_level.loc[per_level["level"] <= 4, "concentrated"].any()
    assert np.isnan(per_level.loc[per_level["level"] == 8, "effective_classes"].item())
    text = collapse.format_class_level_counts(counts)
    assert text.splitlines()[6].startswith("class  6:") and text.splitlines()[6].split()[-1] == "20"
    assert text.splitlines()[-1].startswith("N_eff") and text.splitlines()[-1].split()[-1] == "1.0"


def test_training_log_shows_levels_by_class_after_each_update(tmp_path, caplog):
    from test_training_loop import dataset, run  # the loop's own test setting: Algorithm 2 with L = 1

    with caplog.at_level(logging.INFO, logger="insta_rs.training.loop"):
        final = run(tmp_path)
    logged = [r.getMessage() for r in caplog.records if "levels by class after the update" in r.getMessage()]
    assert len(logged) == 3  # an update in each of the 3 epochs
    labels = np.array([dataset()[i][1] for i in range(24)])
    last = final["levels"].numpy()
    assert np.array_equal(last, pd.read_csv(tmp_path / "levels" / "epoch_3.tsv", sep="\t")["level"].to_numpy())
    expected = collapse.format_class_level_counts(collapse.class_level_counts(labels, last, 16))
    assert logged[-1].endswith(expected)


def test_collapse_tables_show_levels_by_class_and_flag_concentration(tmp_path):
    """Training levels: class 0 rises to the top level alone (the collapse signature), so level 4 is flagged;
    certified levels: the level whose certified predictions are all class 1 is flagged, the mixed one is not."""
    import pandas as pd

    from insta_rs.certification.records import write_certification
    from insta_rs.report.collapse_tables import FLAG, levels_collapse_table, training_collapse_table

    levels_dir = tmp_path / "levels"
    levels_dir.mkdir()
    labels = np.repeat(np.arange(4), 5)
    final = np.where(labels == 0, 4, 1)
    pd.DataFrame({"index": np.arange(20), "level": final, "sigma": 0.25}).to_csv(levels_dir / "epoch_2.tsv",
                                                                                  sep="\t", index=False)
    pd.DataFrame({"index": np.arange(20), "level": 1, "sigma": 0.25}).to_csv(levels_dir / "epoch_1.tsv", sep="\t",
                                                                             index=False)
    table = training_collapse_table({"m": str(levels_dir)}, labels, 4, 4).numbers
    assert table.loc[table["class"] == 0, "l4"].item() == 5 and table.loc[table["class"] == 1, "l1"].item() == 5
    assert table.loc[table["class"] == FLAG, ["l1", "l4"]].values.tolist() == [[0, 1]]
    assert table["levels"].iloc[0] == "Alg. 2 levels after epoch 2"

    def certification(predict):
        n = len(predict)
        return pd.DataFrame({"idx": np.arange(n), "label": np.arange(n) % 4, "predict": predict, "radius": 0.1,
                             "correct": (np.asarray(predict) == np.arange(n) % 4).astype(int), "time": 0.0,
                             "sigma": 0.5, "pA_lower": 0.9, "c_hat": np.maximum(predict, 0), "nA": 90, "nB": 5,
                             "n0A": 9, "n0": 10, "n": 100, "alpha": 0.001, "seed": 0, "n_used": 100,
                             "procedure": "cohen"})

    write_certification(certification(np.arange(8) % 4), tmp_path / "level1.tsv")
    write_certification(certification(np.ones(8, dtype=int)), tmp_path / "level2.tsv")
    table = levels_collapse_table({"m": [str(tmp_path / "level1.tsv"), str(tmp_path / "level2.tsv")]}, 4)
    assert table.numbers["concentrated"].tolist() == [0, 1]
    assert table.numbers["effective_classes"].tolist() == pytest.approx([4.0, 1.0])
    assert table.cells[FLAG].tolist() == ["", "yes"]
