"""The paper's figures from certification and search results (matplotlib, Agg, byte-reproducible files).

Figure 1(a): ACR against the test-time variance ``sigma^2 = k * sigma0^2`` per model.
Figure 1(c): certified radius against sigma for three typical test examples.
Figure 3(a)(b): certified accuracy against radius for a list of table rows.
Figure 3(c): distribution of the per-example sigma chosen by grid search and by multi-start FGSS.
Where instance-wise results are shown, the legend or title names the radius: the paper's per-instance
fixed-sigma radius, not a certificate of the deployed classifier (docs/what-the-numbers-mean.md).
Figures are built on ``matplotlib.figure.Figure`` without pyplot, so no global backend is touched: PNG is
rendered by Agg, PDF by matplotlib's PDF backend, both saved without time stamps.
"""

from __future__ import annotations

import logging
from typing import Collection, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from insta_rs import analysis
from insta_rs.io import atomic_write

logger = logging.getLogger(__name__)

TYPICAL_KINDS = ("rising", "peaked", "small sigma only")
PER_INSTANCE_RADIUS = "per-instance fixed-sigma radius, as in the paper"
PER_INSTANCE_NOTE = ("per-instance fixed-sigma radius (as in the paper):\n"
                     "not a certificate of the deployed instance-wise classifier")


def save_figure(figure: Figure, png_path: str, pdf_path: str, dpi: int = 150) -> None:
    """Write PNG and PDF atomically, without the time stamp / software fields that change between runs."""
    with atomic_write(png_path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=dpi, metadata={"Software": None})
    with atomic_write(pdf_path, "wb") as handle:
        figure.savefig(handle, format="pdf", metadata={"CreationDate": None})


def acr_vs_sigma_figure(acr_by_model: Mapping[str, pd.DataFrame], sigma0: float) -> Figure:
    """Figure 1(a): ``ACR(sigma_k) = mean_i CR(x_i, sigma_k)`` against ``sigma_k^2 = k * sigma0^2``, one line per
    model (frames from :func:`insta_rs.analysis.acr_by_level`); the best level of each model is circled."""
    figure = Figure(figsize=(5.0, 3.6), layout="constrained")
    axes = figure.subplots()
    for model, by_level in acr_by_model.items():
        variance = by_level["level"].to_numpy() * sigma0 ** 2
        line, = axes.plot(variance, by_level["acr"], marker=".", label=model)
        best = int(np.argmax(by_level["acr"].to_numpy()))
        axes.plot(variance[best], by_level["acr"].iloc[best], marker="o", markersize=10, fillstyle="none",
                  color=line.get_color())
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
    sigma = np.sqrt(levels) * sigma0
    figure = Figure(figsize=(5.0, 3.6), layout="constrained")
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
    figure = Figure(figsize=(5.0, 4.4), layout="constrained")
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
    figure = Figure(figsize=(6.0, 3.6), layout="constrained")
    axes = figure.subplots()
    for number, (method, frame) in enumerate(search_frames.items()):
        counts = np.array([(frame["level"].to_numpy() == k).sum() for k in levels])
        axes.bar(levels + (number - (len(search_frames) - 1) / 2) * width, counts, width=width, label=method)
    axes.set_xticks(levels, [f"{s:.2f}" for s in np.sqrt(levels) * sigma0], rotation=45)
    axes.set_xlabel(r"chosen noise level $\sigma_i$")
    axes.set_ylabel("number of test examples")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title("Per-example sigma: grid search against multi-start FGSS\n"
                   f"each test example's sigma for the {PER_INSTANCE_RADIUS}", fontsize="small")
    axes.legend()
    return figure
