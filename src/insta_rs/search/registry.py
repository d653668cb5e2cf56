"""The registry of instance-wise search methods (the ``search:<method>`` rows, the ``search_instance`` rule).

A method is the function of :mod:`insta_rs.search.algorithms` of its name, called as
``f(criterion, n_units, n_levels, **arguments(search config))`` on the criterion of Eq. (4). Each
:class:`SearchMethod` carries its label in figures, those arguments, and whether it may evaluate fewer levels
than all. :data:`DEPLOYED_SEARCH` is the one Insta-RS runs at every queried input (Algorithm 1), whose
certification the audit's ``insta_rs`` mode checks.

Adding a search method: its function in :mod:`.algorithms`, its entry here, its test. Imports nothing: the
workflow's rule files and the tables read the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class SearchMethod:
    """A search method: its label in figures, whether it may evaluate fewer levels than all, and the keyword
    arguments of its function beyond ``(criterion, n_units, n_levels)``, from the ``search`` config."""

    label: str
    fewer_levels: bool
    arguments: Callable[[dict], dict] = lambda search_cfg: {}


SEARCH_METHODS: dict[str, SearchMethod] = {
    "fgss": SearchMethod("multi-start FGSS", fewer_levels=True,
                         arguments=lambda search_cfg: {"starts": [tuple(start) for start in search_cfg["starts"]]}),
    "grid": SearchMethod("grid search", fewer_levels=False),
}
DEPLOYED_SEARCH = "fgss"
