"""The paper's figures from certification and search results (matplotlib, Agg, byte-reproducible files).

Figure 1(a): ACR against the test-time variance ``sigma^2 = k * sigma0^2`` per model.
Figure 1(c): certified radius against sigma for three typical test examples.
Figure 3(a)(b): certified accuracy against radius for a list of table rows.
Figure 3(c): distribution of the per-example sigma chosen by grid search and by multi-start FGSS.
Where instance-wise results are shown, the legend or title names the radius: the paper's per-instance
fixed-sigma radius, not a certificate of the deployed classifier (docs/what-the-numbers-mean.md).
Figures are built on ``matplotlib.figure.Figure`` without pyplot, so no global backend is touched: PNG is
rendered by Agg, PDF by matplotlib's PDF backend, both saved without time stamps.

:data:`FIGURE_KINDS` is the registry of figure kinds (``figures.<name>.kind``, or the name itself): the config
key each needs, the result files it reads and how it is drawn. matplotlib is imported only when a figure is
drawn, so that the workflow's rule files can ask a kind for its inputs cheaply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Collection, Mapping

import numpy as np
import pandas as pd

from insta_rs import analysis, collapse
from insta_rs.certification.records import read_certification
from insta_rs.files import atomic_write, read_tsv
from insta_rs.layout import Layout
from insta_rs.levels import level_sigma
from insta_rs.report.rows import load_row, row_inputs
from insta_rs.search.registry import SEARCH_METHODS, SearchMethod

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

TYPICAL_KINDS = ("rising", "peaked", "small sigma only")
PER_INSTANCE_RADIUS = "per-instance fixed-sigma radius, as in the paper"
PER_INSTANCE_NOTE = ("per-instance fixed-sigma radius (as in the paper):\n"
                     "not a certificate of the deployed instance-wise classifier")


def new_figure(**kwargs) -> Figure:
    """A ``matplotlib.figure.Figure`` (imported here: see the module docstring)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_figure(figure: Figure, png_path: str, pdf_path: str, dpi: int = 150) -> None:
    """Write PNG and PDF atomically, without the time stamp / software fields that change between runs."""
    with atomic_write(png_path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=dpi, metadata={"Software": None})
    with atomic_write(pdf_path, "wb") as handle:
        figure.savefig(handle, format="pdf", metadata={"CreationDate": None})


def acr_vs_sigma_figure(acr_by_model: Mapping[str, pd.DataFrame], sigma0: float) -> Figure:
    """Figure 1(a): ``ACR(sigma_k) = mean_i CR(x_i, sigma_k)`` against ``sigma_k^2 = k * sigma0^2``, one line per
    model (frames from :func:`insta_rs.analysis.acr_by_level`); the best level of each model is circled, and a
    level whose certified predictions concentrate on few classes (a ``concentrated`` column) is crossed."""
    figure = new_figure(figsize=(5.0, 3.6), layout="constrained")
    axes = figure.subplots()
    crossed = False
    for model, by_level in acr_by_model.items():
        variance = by_level["level"].to_numpy() * sigma0 ** 2
        line, = axes.plot(variance, by_level["acr"], marker=".", label=model)
        best = int(np.argmax(by_level["acr"].to_numpy()))
        axes.plot(variance[best], by_level["acr"].iloc[best], marker="o", markersize=10, fillstyle="none",
                  color=line.get_color())
        flagged = by_level.get("concentrated", pd.Series(False, index=by_level.index)).to_numpy(dtype=bool)
        if flagged.any():
            axes.plot(variance[flagged], by_level["acr"].to_numpy()[flagged], linestyle="none", marker="x",
                      markersize=8, color=line.get_color(),
                      label=None if crossed else "x: certified predictions on few classes")
            crossed = True
    axes.set_xlabel(rf"test-time noise variance $\sigma^2 = k \cdot {sigma0:g}^2$")
    axes.set_ylabel("ACR (certified, uniform sigma)")
    axes.set_title("ACR against the test-time noise level (best circled)")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def certified_radius_matrix(level_frames: Mapping[int, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(idx, levels, CR)`` with ``CR[i, j] = correct * radius`` of example i at level ``levels[j]``."""
    aligned = analysis.aligned_levels(level_frames)
    radius = np.stack([(f["radius"] * f["correct"]).to_numpy(dtype=float) for f in aligned.values()], axis=1)
    return aligned[min(aligned)]["idx"].to_numpy(), np.array(list(aligned)), radius


def pick_typical_examples(level_frames: Mapping[int, pd.DataFrame]) -> dict[str, int]:
    """Three examples like Figure 1(c)'s, by their certified-radius curve ``CR(sigma_k)``:

    - rising: best at the largest sigma, certified at the smallest; score ``CR(last) - CR(first)``;
    - peaked: best at an interior level; score ``min(CR(peak) - CR(first), CR(peak) - CR(last))``;
    - small sigma only: best at the smallest sigma and not certified at the largest; score = number of
      levels where it is not certified, then ``CR(first)``.

    Ties go to the smaller idx. When no example qualifies, the best score over the remaining examples is
    taken (the returned example then does not have the shape; it is logged). The three are distinct.
    Returns ``{kind: idx}``.
    """
    idx, _, radius = certified_radius_matrix(level_frames)
    if len(idx) < len(TYPICAL_KINDS):
        raise ValueError(f"need at least {len(TYPICAL_KINDS)} test examples to pick typical ones, got {len(idx)}")
    first, last, best = radius[:, 0], radius[:, -1], radius.argmax(axis=1)
    peak = radius.max(axis=1)
    n_levels = radius.shape[1]
    scores = {
        "rising": (last - first, (best == n_levels - 1) & (first > 0) & (last > first)),
        "peaked": (np.minimum(peak - first, peak - last), (best > 0) & (best < n_levels - 1) & (peak > first)
                   & (peak > last)),
        "small sigma only": ((radius == 0).sum(axis=1) + first / (first.max() + 1.0),
                             (best == 0) & (first > 0) & (last == 0)),
    }
    picked: dict[str, int] = {}
    taken = np.zeros(len(idx), dtype=bool)
    for kind in TYPICAL_KINDS:
        score, qualifies = scores[kind]
        pool = qualifies & ~taken
        if not pool.any():
            logger.warning("no test example has a %s certified-radius curve; taking the closest one", kind)
            pool = ~taken
        row = int(np.argmax(np.where(pool, score, -np.inf)))
        picked[kind] = int(idx[row])
        taken[row] = True
    return picked


def radius_vs_sigma_figure(level_frames: Mapping[int, pd.DataFrame], examples: Mapping[str, int],
                           sigma0: float) -> Figure:
    """Figure 1(c): certified radius (0 where wrong or abstained) against sigma for the given examples."""
    idx, levels, radius = certified_radius_matrix(level_frames)
    sigma = level_sigma(levels, sigma0)
    figure = new_figure(figsize=(5.0, 3.6), layout="constrained")
    axes = figure.subplots()
    for number, (kind, example) in enumerate(examples.items(), start=1):
        row = int(np.flatnonzero(idx == example)[0])
        axes.plot(sigma, radius[row], marker=".", label=f"example {number} (idx {example}): {kind}")
    axes.set_xlabel(r"test-time noise level $\sigma$")
    axes.set_ylabel("certified radius (0 = wrong or abstain)")
    axes.set_title("Certified radius against sigma, three test examples")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def certified_accuracy_figure(curves: Mapping[str, pd.DataFrame], max_radius: float | None = None,
                              title: str = "", per_instance: Collection[str] = (), n_points: int = 400) -> Figure:
    """Figure 3(a)(b): certified accuracy ``mean_i [correct_i and radius_i >= r]`` against r, one line per
    labelled certification frame; r from 0 to ``max_radius`` (default: the largest certified radius).

    Curves labelled in ``per_instance`` (table rows ``search:*``) show the paper's per-instance fixed-sigma
    radius, not a certificate of the deployed instance-wise classifier: their legend entries and the title
    say so."""
    if max_radius is None:
        max_radius = max(float((f["radius"] * f["correct"]).max()) for f in curves.values()) * 1.05 or 1.0
    radii = np.linspace(0.0, max_radius, n_points)
    figure = new_figure(figsize=(5.0, 4.4), layout="constrained")
    axes = figure.subplots()
    for label, frame in curves.items():
        legend = f"{label} ({PER_INSTANCE_RADIUS})" if label in per_instance else label
        axes.plot(radii, analysis.certified_accuracy(frame, radii), label=legend)
    axes.set_xlabel(r"$\ell_2$ radius r")
    axes.set_ylabel("certified accuracy")
    axes.set_ylim(0.0, 1.0)
    if any(label in per_instance for label in curves):
        title = "\n".join(part for part in (title, PER_INSTANCE_NOTE) if part)
    axes.set_title(title, fontsize="small")
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize="small")
    return figure


def sigma_histogram_figure(search_frames: Mapping[str, pd.DataFrame], n_levels: int, sigma0: float) -> Figure:
    """Figure 3(c): number of test examples assigned each level ``sigma_k = sqrt(k) * sigma0`` by each search
    (frames with a ``level`` column), side-by-side bars; the title says these are the sigmas of the paper's
    per-instance fixed-sigma radius."""
    levels = np.arange(1, n_levels + 1)
    width = 0.8 / max(len(search_frames), 1)
    figure = new_figure(figsize=(6.0, 3.6), layout="constrained")
    axes = figure.subplots()
    for number, (method, frame) in enumerate(search_frames.items()):
        counts = np.array([(frame["level"].to_numpy() == k).sum() for k in levels])
        axes.bar(levels + (number - (len(search_frames) - 1) / 2) * width, counts, width=width, label=method)
    axes.set_xticks(levels, [f"{s:.2f}" for s in level_sigma(levels, sigma0)], rotation=45)
    axes.set_xlabel(r"chosen noise level $\sigma_i$")
    axes.set_ylabel("number of test examples")
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Per-example sigma: grid search against multi-start FGSS\n"
                   f"each test example's sigma for the {PER_INSTANCE_RADIUS}", fontsize="small")
    axes.legend()
    return figure


# --------------------------------------------------------------------------------------------- figure kinds

def unique(paths) -> list[str]:
    """``paths`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(paths))


def load_levels(layout: Layout, model: str, n_levels: int) -> dict[int, pd.DataFrame]:
    """``{k: certification of model at level k}`` for k = 1..n_levels."""
    return {k: read_certification(path) for k, path in enumerate(layout.levels(model, n_levels), start=1)}


def _draw_fig1a(figure: Mapping, layout: Layout, noise: Mapping) -> Figure:
    acr_by_model = {}
    for model in figure["models"]:
        levels = load_levels(layout, model, noise["n_levels"])
        classes = int(max(frame["label"].max() for frame in levels.values())) + 1
        acr_by_model[model] = analysis.acr_by_level(levels).assign(concentrated=[
            collapse.certified_concentration(levels[level], classes)["concentrated"] for level in sorted(levels)])
    for model, by_level in acr_by_model.items():
        best = by_level.loc[by_level["acr"].idxmax()]
        logger.info("%s: best ACR %.4f at level %d", model, best["acr"], best["level"])
    return acr_vs_sigma_figure(acr_by_model, noise["sigma0"])


def _draw_fig1c(figure: Mapping, layout: Layout, noise: Mapping) -> Figure:
    levels = load_levels(layout, figure["model"], noise["n_levels"])
    examples = pick_typical_examples(levels)
    logger.info("typical examples: %s", examples)
    return radius_vs_sigma_figure(levels, examples, noise["sigma0"])


def _draw_fig3ab(figure: Mapping, layout: Layout, noise: Mapping) -> Figure:
    rows = {row["label"]: load_row(layout, row["model"], row["result"], noise["n_levels"], noise["sigma0"])
            for row in figure["rows"]}
    named = {(f"{label} [certified on few classes]" if collapse.certified_concentration(
        row.frame, int(row.frame["label"].max()) + 1)["concentrated"] else label): row for label, row in rows.items()}
    per_instance = [label for label, row in named.items() if row.kind == "search"]
    return certified_accuracy_figure({label: row.frame for label, row in named.items()}, figure.get("max_radius"),
                                     figure.get("title", ""), per_instance)


def _exhaustive_first(searches: Mapping[str, SearchMethod]) -> list[tuple[str, SearchMethod]]:
    """The search methods, those that evaluate every level first (drawn behind the others)."""
    return sorted(searches.items(), key=lambda item: item[1].fewer_levels)


def _draw_fig3c(figure: Mapping, layout: Layout, noise: Mapping) -> Figure:
    searches = {search.label: read_tsv(layout.search(figure["model"], method), ["idx", "level"])
                for method, search in _exhaustive_first(SEARCH_METHODS)}
    return sigma_histogram_figure(searches, noise["n_levels"], noise["sigma0"])


@dataclass(frozen=True)
class FigureKind:
    """A kind of figure: the config key it needs, the result files it reads ``(figure, layout, n_levels)``
    and how it is drawn ``(figure, layout, noise)``."""

    key: str
    inputs: Callable[[Mapping, Layout, int], list[str]]
    draw: Callable[[Mapping, Layout, Mapping], Figure]


FIGURE_KINDS = {
    "fig1a": FigureKind("models", lambda f, layout, n: unique(path for model in f["models"]
                                                             for path in layout.levels(model, n)), _draw_fig1a),
    "fig1c": FigureKind("model", lambda f, layout, n: layout.levels(f["model"], n), _draw_fig1c),
    "fig3ab": FigureKind("rows", lambda f, layout, n: unique(path for row in f["rows"]
                                                            for path in row_inputs(layout, row["model"],
                                                                                   row["result"], n)),
                         _draw_fig3ab),
    "fig3c": FigureKind("model", lambda f, layout, n: [layout.search(f["model"], method)
                                                        for method, _ in _exhaustive_first(SEARCH_METHODS)],
                        _draw_fig3c),
}


def figure_kind(name: str, figure: Mapping) -> str:
    """The kind of figure ``figures.<name>``: its ``kind`` key, else its name when that is a kind."""
    kind = figure.get("kind", name)
    if kind not in FIGURE_KINDS:
        raise ValueError(f"figures.{name}: set kind to one of {', '.join(FIGURE_KINDS)} "
                         "(or name the figure after its kind)")
    if FIGURE_KINDS[kind].key not in figure:
        raise ValueError(f"figures.{name} ({kind}) needs the key {FIGURE_KINDS[kind].key!r}")
    return kind
