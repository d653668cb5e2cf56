"""Tables from small synthetic result files, checked against golden files and against hand-computed values.

Regenerate the golden files after an intended format change with ``UPDATE_GOLDEN=1 pytest tests/test_tables.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from insta_rs.certification.records import CERTIFY_COLUMNS, format_certify_row, read_certification
from insta_rs.certification.records import write_certification as write_frame
from insta_rs.certification.stats import cohen_radius, pA_lower_bound
from insta_rs.collapse import collapse_guard
from insta_rs.layout import Layout
from insta_rs.report import b3, build, paper, render, rows, speed
from insta_rs.report.figures import load_levels
from insta_rs.sound.cascade import cascade_from_level_files
from insta_rs.sound.semi_elastic import semi_elastic_frame
from insta_rs.training import stages

GOLDEN = Path(__file__).parent / "golden"
N_LEVELS, SIGMA0, N0, N_SAMPLES, ALPHA = 4, 0.25, 100, 1000, 0.001
IDX = np.array([0, 2, 4, 6, 8, 10])
LABELS = np.array([0, 1, 2, 0, 1, 2])
# nA of the predicted class per example (rows) and level 1..4 (columns), out of N_SAMPLES.
COUNTS = np.array([
    [990, 995, 999, 1000],   # idx 0: radius grows with sigma ("rising")
    [990, 999, 995, 700],    # idx 2: peaked at level 2
    [900, 600, 400, 300],    # idx 4: certified at small sigma only (abstains at levels 3, 4)
    [990, 990, 990, 990],    # idx 6: predicted wrong at every level
    [800, 800, 800, 800],    # idx 8: flat
    [1000, 552, 510, 400],   # idx 10: pA_lower >= 1/2 at level 2, below once corrected to alpha/4
])
WRONG = np.zeros_like(COUNTS, dtype=bool)
WRONG[3, :] = True
DEMO_RADII = [0.0, 0.25, 0.5, 0.75]


def write_certification(path: Path, idx, labels, counts, selected, sigmas) -> None:
    """Certification TSV in our format, pA_lower and radius computed as certification does; ``selected`` is
    c_hat (kept on abstain) and every other estimation sample falls on one runner-up class (nB = N - nA)."""
    pA_lower = pA_lower_bound(np.asarray(counts), N_SAMPLES, ALPHA)
    radius = cohen_radius(np.asarray(sigmas), pA_lower)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.write("\t".join(CERTIFY_COLUMNS) + "\n")
        for i, label, c_hat, r, p, n_a, sigma in zip(idx, labels, selected, radius, pA_lower, counts, sigmas):
            predict = int(c_hat) if p >= 0.5 else -1
            handle.write(format_certify_row({
                "idx": int(i), "label": int(label), "predict": predict, "radius": float(r),
                "correct": int(predict == label), "time": 0.5, "sigma": float(sigma), "pA_lower": float(p),
                "c_hat": int(c_hat), "nA": int(n_a), "nB": N_SAMPLES - int(n_a), "n0A": N0, "n0": N0,
                "n": N_SAMPLES, "alpha": ALPHA, "seed": 0, "n_used": N_SAMPLES, "procedure": "cohen"}))


def write_synthetic_results(results_dir: Path, model: str = "m") -> None:
    """Level files, fgss/grid searches with their certifications, and uniform searches of one model."""
    sigmas = np.sqrt(np.arange(1, N_LEVELS + 1)) * SIGMA0
    predicts = np.where(WRONG, (LABELS[:, None] + 1) % 3, LABELS[:, None])
    for k in range(1, N_LEVELS + 1):
        write_certification(results_dir / "certify" / model / f"level{k}.tsv", IDX, LABELS, COUNTS[:, k - 1],
                            predicts[:, k - 1], np.full(len(IDX), sigmas[k - 1]))
    searched = {"fgss": (np.array([4, 2, 1, 1, 1, 1]), np.array([5, 4, 3, 3, 3, 3])),
                "grid": (np.array([4, 2, 1, 2, 1, 1]), np.full(len(IDX), N_LEVELS))}
    for method, (levels, evaluated) in searched.items():
        rows = np.arange(len(IDX))
        write_certification(results_dir / "certify" / model / f"search_{method}.tsv", IDX, LABELS,
                            COUNTS[rows, levels - 1], predicts[rows, levels - 1], sigmas[levels - 1])
        search = pd.DataFrame({"idx": IDX, "label": LABELS, "level": levels, "sigma": sigmas[levels - 1],
                               "cr_hat": 0.5, "n_levels_evaluated": evaluated})
        for k in range(1, 17):
            search[f"cr_hat_l{k}"] = 0.1 * k if k <= N_LEVELS else np.nan
        (results_dir / "search" / model).mkdir(parents=True, exist_ok=True)
        search.to_csv(results_dir / "search" / model / f"{method}.tsv", sep="\t", index=False)
    pd.DataFrame({"level": [1, 2, 3], "sigma": sigmas[:3], "acr_hat": [0.30, 0.35, 0.32], "chosen": [0, 1, 0]}) \
        .to_csv(results_dir / "search" / model / "uniform_test.tsv", sep="\t", index=False)
    pd.DataFrame({"level": [1, 2, 3, 4], "sigma": sigmas, "acr_hat": [0.30, 0.31, 0.36, 0.33],
                  "chosen": [0, 0, 1, 0]}) \
        .to_csv(results_dir / "search" / model / "uniform_validation.tsv", sep="\t", index=False)
    # the validation split: level 1 certifies its examples best (the test set prefers level 4)
    validation_counts = np.array([1000, 900, 700, 600])
    for k in range(1, N_LEVELS + 1):
        write_certification(results_dir / "certify" / model / "validation" / f"level{k}.tsv", IDX[:4], LABELS[:4],
                            np.full(4, validation_counts[k - 1]), LABELS[:4], np.full(4, sigmas[k - 1]))
    certify = results_dir / "certify" / model
    validation = {k: read_certification(certify / "validation" / f"level{k}.tsv") for k in range(1, N_LEVELS + 1)}
    collapse_guard(validation, num_classes=3, n_levels=N_LEVELS).to_csv(certify / "validation" / "collapse_guard.tsv",
                                                                        sep="\t", index=False)
    cascade_from_level_files([certify / f"level{k}.tsv" for k in range(1, N_LEVELS + 1)], certify / "cascade.tsv")
    # the semi-elastic radii of the FGSS certification, as if its sigma came from the kNN rule (d = 64)
    semi_elastic = semi_elastic_frame(read_certification(certify / "search_fgss.tsv"), dim=64, r=0.01)
    write_frame(semi_elastic, certify / "semi_elastic.tsv")


ALL_KINDS_TABLE = {
    "title": "Every row kind",
    "caption": "Synthetic model m, 4 levels.",
    "radii": DEMO_RADII,
    "rows": [
        {"label": "RS at sigma 0.50", "model": "m", "result": "level:4", "paper_row": "table1/cohen-0.50"},
        {"label": "Insta-RS (FGSS)", "model": "m", "result": "search:fgss", "paper_row": "table3/fgss"},
        {"label": "Grid search", "model": "m", "result": "search:grid"},
        {"label": "Best uniform sigma", "model": "m", "result": "best_uniform"},
        {"label": "Oracle", "model": "m", "result": "oracle"},
        {"label": "Oracle alpha/K", "model": "m", "result": "oracle_bonferroni"},
        {"label": "Alg. 3 on test", "model": "m", "result": "uniform:test"},
        {"label": "Alg. 3 on validation", "model": "m", "result": "uniform:validation"},
        {"label": "Best certified ACR on validation", "model": "m", "result": "validation_best"},
        {"label": "Cascade", "model": "m", "result": "sound:cascade"},
        {"label": "Semi-elastic", "model": "m", "result": "sound:semi_elastic"},
    ],
}


def shipped(table: render.Table) -> render.Table:
    """A table as the workflow writes it: the run's precision (here fp32) named in the footer."""
    return render.with_precision(table, "fp32")


def test_the_footer_names_the_precision_and_what_reduced_precision_certifies() -> None:
    table = render.Table("t", "T", "", pd.DataFrame({"a": [1]}), pd.DataFrame({"a": ["1"]}), ("first line.",))
    assert render.render_markdown(shipped(table)).rstrip().endswith(
        "first line.  \nPrecision: fp32: every forward pass behind these rows ran in float32.")
    bf16 = render.with_precision(table, "bf16").footer
    assert bf16[0] == "first line." and "certify the smoothed classifier of the network computed in bf16" in bf16[1]
    assert "Precision: bf16" in render.render_latex(render.with_precision(table, "bf16"))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to regenerate)"


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    write_synthetic_results(tmp_path)
    return tmp_path


def build_all_kinds(results_dir: Path) -> render.Table:
    return build.build_table("demo", ALL_KINDS_TABLE, Layout(str(results_dir)), N_LEVELS, SIGMA0, default_radii=[0.0])


@pytest.mark.parametrize("render, suffix", [(render.render_markdown, "md"), (render.render_latex, "tex"),
                                            (render.render_tsv, "tsv")])
def test_all_row_kinds_match_golden(results_dir: Path, render, suffix: str) -> None:
    check_golden(f"table_all_kinds.{suffix}", render(shipped(build_all_kinds(results_dir))))


def test_b3_matches_golden(results_dir: Path) -> None:
    table = b3.uniform_sigma_table(["m"], Layout(str(results_dir)), N_LEVELS, SIGMA0, paper_models={"m": "cohen-0.50"})
    check_golden("table_b3.md", render.render_markdown(shipped(table)))


def test_row_values_by_hand(results_dir: Path) -> None:
    numbers = build_all_kinds(results_dir).numbers.set_index("result")
    levels = load_levels(Layout(str(results_dir)), "m", N_LEVELS)
    radius = np.stack([levels[k]["radius"] * levels[k]["correct"] for k in range(1, N_LEVELS + 1)], axis=1)
    acr_per_level = radius.mean(axis=0)
    assert numbers.loc["level:4", "acr"] == pytest.approx(acr_per_level[3])
    assert numbers.loc["best_uniform", "acr"] == pytest.approx(acr_per_level.max())
    assert numbers.loc["oracle", "acr"] == pytest.approx(radius.max(axis=1).mean())
    assert numbers.loc["oracle_bonferroni", "acr"] < numbers.loc["oracle", "acr"]
    assert numbers.loc["uniform:test", "acr"] == pytest.approx(acr_per_level[1])       # chosen = level 2
    assert numbers.loc["uniform:validation", "acr"] == pytest.approx(acr_per_level[2])  # chosen = level 3
    # validation ACR by level: 0.25 PhiInv(CP(1000)) = 0.616, 0.354 PhiInv(CP(900)) = 0.394, ...: level 1 wins
    assert numbers.loc["validation_best", "level"] == 1
    assert numbers.loc["validation_best", "acr"] == pytest.approx(acr_per_level[0])
    assert numbers.loc["search:fgss", "ass"] == pytest.approx(21 / 6)
    assert numbers.loc["search:grid", "ass"] == pytest.approx(4.0)
    # 5 of 6 examples are correct at some level; the wrong one (idx 6) never.
    assert numbers.loc["oracle", "ca_0"] == pytest.approx(5 / 6)
    assert numbers.loc["level:4", "paper_acr"] == pytest.approx(0.555)
    assert numbers.loc["search:fgss", "paper_ass"] == pytest.approx(7.614)


def test_paper_cell_and_missing_radius() -> None:
    assert build.with_paper(0.6123, 0.668, 3) == "0.612 (paper 0.668)"
    assert paper.paper_row("table4/cohen-1.00").cert_acc_at(0.25) is None
    assert paper.paper_row("table4/cohen-1.00").cert_acc_at(0.5) == 0.38


def test_paper_numbers_are_complete() -> None:
    numbers = paper.paper_numbers()
    for name in ("table1", "table2", "table3", "table4", "table5", "table6"):
        for key, row in numbers[name]["rows"].items():
            assert len(row["cert_acc"]) == len(numbers[name]["radii"]), f"{name}/{key}"
            assert row["cert_acc"] == sorted(row["cert_acc"], reverse=True), f"{name}/{key} not non-increasing"
    assert numbers["table3"]["rows"]["fgss"]["ass"] == 7.614


def test_bad_specs_are_named(results_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown table row result 'level:9'"):
        rows.row_inputs(Layout(str(results_dir)), "m", "level:9", N_LEVELS)
    with pytest.raises(ValueError, match="paper_row 'table1/nope'"):
        paper.paper_row("table1/nope")
    with pytest.raises(FileNotFoundError, match="level1.tsv"):
        build.build_table("t", {"rows": [{"label": "x", "model": "absent", "result": "oracle"}]},
                          Layout(str(results_dir)), N_LEVELS, SIGMA0, [0.0])


def test_row_inputs_cover_what_rows_read(results_dir: Path) -> None:
    for row in ALL_KINDS_TABLE["rows"]:
        paths = rows.row_inputs(Layout(str(results_dir)), "m", row["result"], N_LEVELS)
        assert all(Path(p).exists() for p in paths), row["result"]
    assert rows.row_inputs(Layout("r"), "m", "search:fgss", N_LEVELS) == ["r/certify/m/search_fgss.tsv",
                                                                   "r/search/m/fgss.tsv"]


def test_sound_rows_are_below_their_references(results_dir: Path) -> None:
    numbers = build_all_kinds(results_dir).numbers.set_index("result")
    load = lambda result: rows.load_row(Layout(str(results_dir)), "m", result, N_LEVELS, SIGMA0).frame  # noqa: E731
    cascade, envelope = load("sound:cascade"), load("oracle_bonferroni")
    # the cascade's stopping bound is taken at alpha/(2K): never above the alpha/K envelope of a correct example
    assert np.all(cascade["radius"] * cascade["correct"] <= envelope["radius"] * envelope["correct"] + 1e-9)
    semi_elastic, fgss = load("sound:semi_elastic"), load("search:fgss")
    assert np.all(semi_elastic["radius"] <= fgss["radius"] + 1e-9)
    assert numbers.loc["sound:cascade", "definition"].startswith("sound: input-adaptive certificate")
    assert pd.isna(numbers.loc["sound:cascade", "level"])


COMPANION_TABLE = {
    "title": "Companions",
    "radii": DEMO_RADII,
    "rows": [
        {"label": "RS", "model": "m", "result": "level:4"},
        {"label": "Insta-RS", "model": "m", "result": "search:fgss"},
        {"label": "m2 grid", "model": "m2", "result": "search:grid"},
        {"label": "m2 oracle", "model": "m2", "result": "oracle_bonferroni"},
        {"label": "m best", "model": "m", "result": "best_uniform"},
    ],
}
SOUND = {"models": ["m"], "modes": ["cascade", "semi_elastic"]}


def test_companions_follow_each_models_last_row() -> None:
    companions = rows.table_rows(COMPANION_TABLE, SOUND)
    assert [(row["model"], row["result"]) for row in companions] == [
        ("m", "level:4"), ("m", "search:fgss"), ("m2", "search:grid"), ("m2", "oracle_bonferroni"),
        ("m2", "uniform:validation"), ("m2", "validation_best"), ("m", "best_uniform"), ("m", "uniform:validation"),
        ("m", "validation_best"), ("m", "oracle_bonferroni"), ("m", "sound:cascade"), ("m", "sound:semi_elastic")]
    assert companions[4]["label"] == "m2, sigma from validation, label-free Alg. 3"
    assert rows.table_rows({**COMPANION_TABLE, "companions": False}, SOUND) == COMPANION_TABLE["rows"]
    # a table without per-instance rows gets no companions, and none are added twice
    assert rows.table_rows({"rows": COMPANION_TABLE["rows"][:1]}, SOUND) == COMPANION_TABLE["rows"][:1]
    assert rows.table_rows({"rows": companions}, SOUND) == companions


def test_companion_table_matches_golden(tmp_path: Path) -> None:
    for model in ("m", "m2"):
        write_synthetic_results(tmp_path, model)
    table = build.build_table("companions", COMPANION_TABLE, Layout(str(tmp_path)), N_LEVELS, SIGMA0, [0.0], SOUND)
    assert len(table.numbers) == 12 and table.footer[-1] == rows.COMPANION_NOTE
    paths = [path for row in rows.table_rows(COMPANION_TABLE, SOUND)
             for path in rows.row_inputs(Layout(str(tmp_path)), row["model"], row["result"], N_LEVELS)]
    assert str(tmp_path / "certify" / "m" / "cascade.tsv") in paths
    check_golden("table_companions.md", render.render_markdown(shipped(table)))


def write_timings(tmp_path: Path) -> dict[str, str]:
    """sigma_assignment.json of an Insta-RS model (two update epochs) and a PFAT model, as training writes them."""
    paths = {"insta": str(tmp_path / "insta.json"), "pfat": str(tmp_path / "pfat.json")}
    stages._write_timing(paths["insta"], "insta", 1.25, 1097, torch.device("cpu"), {1: 0.5, 2: 0.75})
    stages._write_timing(paths["pfat"], "pfat", 9.0, 1097, torch.device("cpu"))
    return paths


def test_training_speed_table(tmp_path: Path) -> None:
    train = {"insta": {"method": "insta", "stage1": {"epochs": 2}}, "pfat": {"method": "pfat", "stage1": {"epochs": 3}}}
    table = speed.training_speed_table(write_timings(tmp_path), train, n_levels=N_LEVELS)
    numbers = table.numbers.set_index("model")
    assert numbers.loc["insta", "sigma_updates"] == 2 and numbers.loc["insta", "levels_per_update"] == 2
    assert numbers.loc["pfat", "sigma_updates"] == 1 and numbers.loc["pfat", "levels_per_update"] == N_LEVELS
    assert numbers.loc["pfat", "hours"] == pytest.approx(9.0 / 3600)
    assert numbers.loc["PFAT [WZH+21]", "hours"] == 32.92 and numbers.loc["Insta-RS Train", "hours"] == 2.06
    assert "7.2x" in table.footer[-1]
    check_golden("table_training_speed.md", render.render_markdown(shipped(table)))
    with pytest.raises(ValueError, match="at least one model"):
        speed.training_speed_table({}, train, N_LEVELS)
    Path(tmp_path / "bad.json").write_text('{"method": "insta"}')
    with pytest.raises(ValueError, match="missing keys"):
        speed.read_timing(str(tmp_path / "bad.json"))


def test_a_sequential_row_says_its_procedure_and_samples(results_dir: Path) -> None:
    """A level certified by the sequential procedure: the table shows the mean estimation samples of its rows
    and names each procedure in the footer; tables of fixed-N rows only (the golden files) show neither."""
    path = results_dir / "certify" / "m" / "level2.tsv"
    frame = read_certification(path)
    frame["procedure"] = "sequential:radius:rel0.02:100x1.25:cap0.5"
    frame["n_used"], frame["nB"] = [1000, 1000, 600, 1000, 800, 600], 0  # at least nA (level 2's counts)
    write_frame(frame, path)
    table = build.build_table("t", {"rows": [{"label": "seq", "model": "m", "result": "level:2"},
                                             {"label": "fixed", "model": "m", "result": "level:4"}]},
                              Layout(str(results_dir)), N_LEVELS, SIGMA0, [0.0])
    assert table.cells["samples"].tolist() == ["833", "1,000"]
    assert table.numbers["mean_samples"].tolist() == pytest.approx([5000 / 6, 1000])
    assert "procedure cohen, sequential:radius:rel0.02:100x1.25:cap0.5" in table.footer[1]
    assert any(line.startswith("Procedures: cohen = Cohen et al.'s CERTIFY") for line in table.footer)
    fixed_only = build.build_table("t", {"rows": [{"label": "fixed", "model": "m", "result": "level:4"}]},
                                   Layout(str(results_dir)), N_LEVELS, SIGMA0, [0.0])
    assert "samples" not in fixed_only.cells.columns and len(fixed_only.footer) == 4


def test_every_table_kind_is_built_by_the_rule_of_its_name():
    from insta_rs.report.table_kinds import CONFIGURED, TABLE_KINDS, table_kind

    assert list(TABLE_KINDS) == ["b3", "training_speed", "collapse_training", "collapse_levels"]
    assert table_kind("table1") is CONFIGURED and table_kind("b3") is TABLE_KINDS["b3"]
    assert [kind.results for kind in TABLE_KINDS.values()] == [True, True, False, False]
