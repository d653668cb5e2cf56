"""Collapse diagnostics: do noise levels, or certified predictions, go with a few classes only?

The signature to detect. Algorithm 2 raises the training levels of some classes only; the model
learns "strong noise means that class"; at large sigma its certified predictions are mostly that class, a
label-free search then picks large sigma, and only a label-using number (the oracle envelope) looks good.

Three views, pure functions of numpy arrays and certification frames:

- :func:`class_level_counts`: per-class histogram of per-example levels ``[C, T]`` (training levels after an
  update; a sigma selector's labels), and :func:`level_class_concentration` per level;
- :func:`predicted_class_counts`: the classes of the *certified* predictions of a certification frame;
- :func:`concentration`: whether a class distribution concentrates on few classes.

The guard (:func:`collapse_guard`). A level at which a model answers one class for most inputs can win every
criterion that averages radii (ACR, Eq. 5's ACR_hat): the few inputs of that class get large radii (Sun et al., ICML
2025, "Average Certified Radius is a Poor Metric for Randomized Smoothing"). The choices this project makes for its
own rows (the single sigma chosen on the validation split, the cascade's levels, the semi-elastic sigma's range, the
Dual RS selector's labels) therefore never use a *collapsed* level: one whose certified predictions on the validation
split are CONCENTRATED (:func:`certified_concentration`, the tables' ``classes`` flag: ``N_eff`` of the predicted
classes below ``CONCENTRATION_RATIO`` times that of the validation labels' class frequencies). It reads which classes
are predicted, not whether a prediction is right, and never a test label; a model that answers one class at a level
cannot pass it there, whatever radii it reaches. A level must certify at least ``MIN_CERTIFIED_PER_CLASS * C``
validation predictions to count as collapsed: a handful of certified predictions says nothing of the class mix (n
draws from C equally likely classes give ``N_eff ~ 1 / (1/C + 1/n)``, about ``0.75 C`` at ``n = 3C`` and ``C/2``, the
flag's threshold, at ``n = C``), and a level that certifies so few inputs does not win an average of radii.

The measure. The effective number of classes of a distribution ``p`` (counts normalized) is the inverse
Simpson index ``N_eff = 1 / sum_c p_c^2``: ``C`` for a uniform distribution over C classes, ``k`` for k equally
used classes, near 1 when one class dominates; unlike the share of the top class it sees a distribution split
over two or three classes as concentrated. A distribution is flagged when
``N_eff < CONCENTRATION_RATIO * N_eff(reference)``, the reference being the class distribution the examples
come from (their labels; uniform, ``N_eff = C``, when not given). With ``CONCENTRATION_RATIO = 1/2`` on a
balanced 10-class set the flag needs fewer than 5 effective classes: a model that certifies every class at
a similar rate stays near 10 (sampling noise lowers the estimate by about ``(1 - 1/C) / n`` in
``sum p^2`` for n predictions, to 8.5 at n = 50), while one or two dominant classes give 1 to 2.5. The top
class's share against chance ``1/C`` is reported beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONCENTRATION_RATIO = 0.5
MIN_CERTIFIED_PER_CLASS = 3


def class_level_counts(labels: np.ndarray, levels: np.ndarray, n_levels: int,
                       n_classes: int | None = None) -> np.ndarray:
    """``counts[c, l - 1]`` = number of examples of class ``c`` at level ``l`` (levels ``1..n_levels``);
    ``n_classes`` defaults to ``max(labels) + 1``."""
    labels, levels = np.asarray(labels, dtype=int), np.asarray(levels, dtype=int)
    if len(labels) != len(levels):
        raise ValueError(f"{len(labels)} labels but {len(levels)} levels")
    if len(levels) and (levels.min() < 1 or levels.max() > n_levels):
        raise ValueError(f"levels must lie in 1..{n_levels}, found {levels.min()}..{levels.max()}")
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    counts = np.zeros((n_classes, n_levels), dtype=int)
    np.add.at(counts, (labels, levels - 1), 1)
    return counts


def format_class_level_counts(counts: np.ndarray) -> str:
    """Plain text for a log: one line per class, ``class c: n_1 n_2 ... n_T`` (aligned), then per level the
    effective number of classes at that level (``-`` where no example is)."""
    width = max(3, len(str(int(counts.max(initial=0)))))
    lines = [f"class {c:>2}: " + " ".join(f"{n:>{width}d}" for n in row) for c, row in enumerate(counts)]
    effective = level_class_concentration(counts)["effective_classes"]
    lines.append("N_eff   : " + " ".join("-".rjust(width) if np.isnan(e) else f"{e:>{width}.1f}" for e in effective))
    return "\n".join(lines)


def effective_classes(counts: np.ndarray) -> float:
    """Inverse Simpson index ``1 / sum_c p_c^2`` of a count vector; NaN when it sums to 0."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return float(1.0 / np.sum((counts / total) ** 2)) if total > 0 else float("nan")


def concentration(counts: np.ndarray, reference: np.ndarray | None = None,
                  ratio: float = CONCENTRATION_RATIO) -> dict:
    """Summary of a class distribution (counts per class): ``n``, ``top_class``, ``top_share``,
    ``chance_share`` (``1 / C``), ``effective_classes``, ``reference_classes`` and ``concentrated``
    (``effective_classes < ratio * reference_classes``; False when ``n = 0``). ``reference`` holds the counts
    of the population the examples come from (uniform over C classes when None)."""
    counts = np.asarray(counts, dtype=float)
    n = int(counts.sum())
    reference_classes = float(len(counts)) if reference is None else effective_classes(reference)
    effective = effective_classes(counts)
    return {"n": n, "top_class": int(np.argmax(counts)) if n else -1,
            "top_share": float(counts.max() / n) if n else float("nan"), "chance_share": 1.0 / len(counts),
            "effective_classes": effective, "reference_classes": reference_classes,
            "concentrated": bool(n > 0 and effective < ratio * reference_classes)}


def level_class_concentration(counts: np.ndarray, ratio: float = CONCENTRATION_RATIO) -> pd.DataFrame:
    """Per level (columns of ``counts [C, T]``): how many examples, the effective number of classes among them
    and whether it is concentrated against the class distribution of all examples (``counts.sum(axis=1)``)."""
    reference = counts.sum(axis=1)
    rows = [concentration(counts[:, level], reference, ratio) for level in range(counts.shape[1])]
    return pd.DataFrame({"level": np.arange(1, counts.shape[1] + 1), "n": [r["n"] for r in rows],
                         "effective_classes": [r["effective_classes"] for r in rows],
                         "concentrated": [r["concentrated"] for r in rows]})


def predicted_class_counts(frame: pd.DataFrame, num_classes: int) -> np.ndarray:
    """Counts per class of the certified predictions (``predict >= 0``) of a certification frame, right or
    wrong: what the smoothed classifier answers, not how often it is correct."""
    predict = frame["predict"].to_numpy(dtype=int)
    return np.bincount(predict[predict >= 0], minlength=num_classes)[:num_classes]


def certified_concentration(frame: pd.DataFrame, num_classes: int, ratio: float = CONCENTRATION_RATIO) -> dict:
    """:func:`concentration` of a certification frame's certified predictions against its labels' distribution:
    the flag for a table row or figure point ("certified predictions concentrate on few classes")."""
    reference = np.bincount(frame["label"].to_numpy(dtype=int), minlength=num_classes)[:num_classes]
    return concentration(predicted_class_counts(frame, num_classes), reference, ratio)


GUARD_COLUMNS = ("level", "n_certified", "effective_classes", "collapsed")


def collapse_guard(validation_frames: dict[int, pd.DataFrame], num_classes: int, n_levels: int,
                   ratio: float = CONCENTRATION_RATIO) -> pd.DataFrame:
    """Per level 1..n_levels, from ``{level: certification of the validation split at that level}``: the number of
    certified predictions, their effective number of classes and whether the level is *collapsed* (module docstring:
    :func:`certified_concentration` with at least ``MIN_CERTIFIED_PER_CLASS * num_classes`` certified predictions).
    Without frames (the guard off) no level is measured or collapsed."""
    rows = [certified_concentration(validation_frames[level], num_classes, ratio)
            if level in validation_frames else {"n": -1, "effective_classes": float("nan"), "concentrated": False}
            for level in range(1, n_levels + 1)]
    return pd.DataFrame({"level": range(1, n_levels + 1), "n_certified": [row["n"] for row in rows],
                         "effective_classes": [row["effective_classes"] for row in rows],
                         "collapsed": [int(row["concentrated"] and row["n"] >= MIN_CERTIFIED_PER_CLASS * num_classes)
                                       for row in rows]})


def guarded_levels(path: str) -> list[int]:
    """The levels the collapse guard file ``path`` (:func:`collapse_guard`) leaves out (:func:`collapsed_levels`)."""
    return collapsed_levels(pd.read_csv(path, sep="\t"))


def collapsed_levels(guard: pd.DataFrame) -> list[int]:
    """The levels a :func:`collapse_guard` table marks collapsed; none when every level is (a model collapsed at every
    level leaves no choice to protect, and the tables say so)."""
    collapsed = guard.loc[guard["collapsed"] == 1, "level"].astype(int).tolist()
    return [] if len(collapsed) == len(guard) else collapsed


def describe_excluded(levels: list[int]) -> str:
    """``"levels 7-16"``, ``"levels 3, 5"``, ``"level 16"`` (for table notes)."""
    if not levels:
        return "no level"
    if len(levels) == 1:
        return f"level {levels[0]}"
    if levels == list(range(levels[0], levels[-1] + 1)):
        return f"levels {levels[0]}-{levels[-1]}"
    return "levels " + ", ".join(map(str, levels))
