"""The registry of instance-wise search methods (the ``search:<method>`` rows, the ``search_instance`` rule).

Each :class:`SearchMethod` carries its label in figures, how it chooses every example's level on the
criterion of Eq. (4), and whether it may evaluate fewer levels than all. :data:`DEPLOYED_SEARCH` is the one
Insta-RS runs at every queried input (Algorithm 1), whose certification the audit's ``insta_rs`` mode checks.

Adding a search method: its function in :mod:`.algorithms`, its entry here, its test. Free of torch: the
workflow's rule files read the names while parsing; :mod:`.algorithms` is imported when a search runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from insta_rs.search.algorithms import Criterion, SearchResult


def _fgss(criterion: Criterion, n_units: int, n_levels: int, search_cfg: dict) -> SearchResult:
    from insta_rs.search.algorithms import fgss

    return fgss(criterion, n_units, n_levels, [tuple(start) for start in search_cfg["starts"]])


def _grid(criterion: Criterion, n_units: int, n_levels: int, search_cfg: dict) -> SearchResult:
    from insta_rs.search.algorithms import grid

    return grid(criterion, n_units, n_levels)


@dataclass(frozen=True)
class SearchMethod:
    """A search method: its label in figures, ``run(criterion, n_units, n_levels, search config)`` choosing
    every unit's level, and whether it may evaluate fewer levels than all (``fewer_levels``)."""

    label: str
    run: Callable[[Criterion, int, int, dict], SearchResult]
    fewer_levels: bool


SEARCH_METHODS: dict[str, SearchMethod] = {
    "fgss": SearchMethod("multi-start FGSS", _fgss, fewer_levels=True),
    "grid": SearchMethod("grid search", _grid, fewer_levels=False),
}
DEPLOYED_SEARCH = "fgss"
