"""The sound input-adaptive certification modes (``sound.modes``), and the modes the audit checks.

:data:`SOUND_MODES` is the registry of sound modes: each one's companion-row label, what its numbers guarantee,
and how the audit checks it. Its certification is ``Layout.sound(model, mode)``, made by the workflow's rule of
the same name (``sound_<mode>``). :data:`AUDIT_MODES` adds the audit's two non-sound references:

``insta_rs``      each example at the sigma Algorithm 1 chose for it (the paper's per-instance radius)
``level<k>``      one fixed level, ``sigma_k = sqrt(k) sigma0`` (Cohen et al.; the audit's control)

Adding a sound mode: its module and rule ``sound_<mode>``, its entry here with its deployed classifier in
:mod:`insta_rs.sound.deployed`, its test. Kept free of heavy imports: the workflow's rule files call it while
parsing; :mod:`insta_rs.sound.deployed` builds the classifiers when the audit runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from insta_rs.certification.sequential import Reading
from insta_rs.layout import Layout
from insta_rs.search.registry import DEPLOYED_SEARCH

_LEVEL = re.compile(r"^level(\d+)$")


def _reads_nothing(layout: Layout, model: str) -> list[str]:
    return []


def _sound_certification(layout: Layout, model: str, mode: str) -> str:
    return layout.sound(model, mode)


@dataclass(frozen=True)
class AuditedMode:
    """How the audit checks a mode: the certification it checks ``(layout, model, mode)``, the constructor of
    the classifier a user queries (a function of :mod:`insta_rs.sound.deployed`, by name), and the files that
    constructor reads beyond the model and its collapse guard ``(layout, model)``."""

    certification: Callable[[Layout, str, str], str]
    deployed: str
    reads: Callable[[Layout, str], list[str]] = _reads_nothing


def _no_levels(sound: dict, n_levels: int) -> list[int]:
    return []


def _no_reading(sound: dict, n_levels: int) -> Reading | None:
    return None


@dataclass(frozen=True)
class SoundMode:
    """A sound mode: its label in companion rows, the definition its table rows carry, how the audit checks it,
    the levels of the model's fixed-level certifications its certificate reads and the reading
    (:class:`~insta_rs.certification.sequential.Reading`) it reads them at, given the ``sound`` config and
    ``n_levels``."""

    label: str
    definition: str
    audit: AuditedMode
    levels_read: Callable[[dict, int], list[int]] = _no_levels
    reading: Callable[[dict, int], Reading | None] = _no_reading


SOUND_MODES = {
    "cascade": SoundMode("cascade (sound)", "sound: input-adaptive certificate (cascade over the levels, Jeong & "
                                            "Shin 2023; alpha/K per level)",
                         AuditedMode(_sound_certification, "cascade"),
                         levels_read=lambda sound, n_levels: list(range(1, n_levels + 1)),
                         reading=lambda sound, n_levels: Reading(1 / (2 * n_levels), sound["cascade"]["p0"])),
    "semi_elastic": SoundMode("semi-elastic sigma (sound)", "sound: input-adaptive certificate (semi-elastic kNN "
                                                            "sigma, Sukenik et al. 2022)",
                              AuditedMode(_sound_certification, "semi_elastic",
                                          lambda layout, model: [layout.knn_meta(model)])),
    "dual": SoundMode("Dual RS (sound)", "sound: input-adaptive certificate (Dual RS: a certified sigma selector, "
                                         "radius min(R_sel, R_cls), Sun et al. 2026)",
                      AuditedMode(_sound_certification, "dual",
                                  lambda layout, model: [layout.model_file(model, "selector.pt")]),
                      levels_read=lambda sound, n_levels: list(sound["dual"]["levels"]),
                      reading=lambda sound, n_levels: Reading(1 - sound["dual"]["alpha_share"])),
}
AUDIT_MODES = {
    "insta_rs": AuditedMode(lambda layout, model, mode: layout.assigned(model, DEPLOYED_SEARCH), "insta_rs"),
    **{name: mode.audit for name, mode in SOUND_MODES.items()},
    "level<k>": AuditedMode(lambda layout, model, mode: layout.level(model, level_of(mode)), "fixed_level"),
}


def audited_mode(mode: str) -> AuditedMode:
    """The entry of ``mode`` in :data:`AUDIT_MODES` (``level<k>`` for every k); ValueError for an unknown mode."""
    entry = AUDIT_MODES.get("level<k>" if level_of(mode) is not None else mode)
    if entry is None:
        raise ValueError(f"sound.audit.modes: unknown mode {mode!r}; use one of {', '.join(AUDIT_MODES)}")
    return entry


def certification_path(layout: Layout, model: str, mode: str) -> str:
    """The certification TSV the audit checks for ``mode`` of ``model``."""
    return audited_mode(mode).certification(layout, model, mode)


def level_of(mode: str) -> int | None:
    """``k`` of a ``level<k>`` mode, else None."""
    match = _LEVEL.match(mode)
    return int(match.group(1)) if match else None
