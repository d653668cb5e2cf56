"""The sound input-adaptive certification modes (``sound.modes``), and the certifications the audit checks.

:data:`SOUND_MODES` is the registry of sound modes: each one's companion-row label and what its numbers
guarantee. Its certification is ``Layout.sound(model, mode)``, made by the workflow's rule of the same
name (``sound_<mode>``). The audit also checks two non-sound references:

``insta_rs``      each example at the sigma Algorithm 1 chose for it (the paper's per-instance radius)
``level<k>``      one fixed level, ``sigma_k = sqrt(k) sigma0`` (Cohen et al.; the audit's control)

Kept free of heavy imports: the workflow's rule files call it while parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from insta_rs.layout import Layout


@dataclass(frozen=True)
class SoundMode:
    """A sound mode: its label in companion rows and the definition its table rows carry."""

    label: str
    definition: str


SOUND_MODES = {
    "cascade": SoundMode("cascade (sound)", "sound: input-adaptive certificate (cascade over the levels, Jeong & "
                                            "Shin 2023; alpha/K per level)"),
    "semi_elastic": SoundMode("semi-elastic sigma (sound)", "sound: input-adaptive certificate (semi-elastic kNN "
                                                            "sigma, Sukenik et al. 2022)"),
    "dual": SoundMode("Dual RS (sound)", "sound: input-adaptive certificate (Dual RS: a certified sigma selector, "
                                         "radius min(R_sel, R_cls), Sun et al. 2026)"),
}
AUDIT_REFERENCES = ("insta_rs", "level<k>")
_LEVEL = re.compile(r"^level(\d+)$")


def certification_path(layout: Layout, model: str, mode: str) -> str:
    """The certification TSV the audit checks for ``mode`` of ``model``."""
    if mode == "insta_rs":
        return layout.assigned(model, "fgss")
    if mode in SOUND_MODES:
        return layout.sound(model, mode)
    if level_of(mode) is not None:
        return layout.level(model, level_of(mode))
    raise ValueError(f"sound.audit.modes: unknown mode {mode!r}; use one of "
                     f"{', '.join([*SOUND_MODES, *AUDIT_REFERENCES])}")


def level_of(mode: str) -> int | None:
    """``k`` of a ``level<k>`` mode, else None."""
    match = _LEVEL.match(mode)
    return int(match.group(1)) if match else None
