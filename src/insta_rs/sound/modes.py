"""The sound input-adaptive certification modes (``sound.modes``), and the modes the audit checks.

:data:`SOUND_MODES` is the registry of sound modes. An entry carries everything the workflow asks of a mode: its
companion-row label and what its numbers guarantee, the results its certificate reads and the settings it depends
on (its protocol), the fixed levels and the reading it reads them at, the files its deployed classifier reads, and
its module ``insta_rs.sound.<module>``, which defines

``certificate(inputs, settings, tsv) -> str``  the certificate of every test example from ``inputs`` (names to
                                               paths, as :attr:`SoundMode.inputs` gives them), written as a
                                               certification TSV at ``tsv``; returns a line for the log
``deployed(job) -> DeployedPredict``           the classifier a user queries, built from an
                                               :class:`insta_rs.sound.deployed.AuditJob`

One workflow rule (``sound_certificate``) runs every mode. :data:`AUDIT_MODES` adds the audit's two non-sound
references:

``insta_rs``      each example at the sigma Algorithm 1 chose for it (the paper's per-instance radius)
``level<k>``      one fixed level, ``sigma_k = sqrt(k) sigma0`` (Cohen et al.; the audit's control)

Adding a sound mode: its entry here, its module, its test. Kept free of heavy imports (modules are named, and
loaded when a job calls them): the workflow's rule files call it while parsing.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

from insta_rs.certification.sequential import Reading
from insta_rs.layout import Layout
from insta_rs.search.registry import DEPLOYED_SEARCH

_LEVEL = re.compile(r"^level(\d+)$")
Inputs = dict[str, str | list[str]]  # what a certificate reads, by name


def _reads_nothing(layout: Layout, model: str) -> list[str]:
    return []


def _one_prediction(config: dict) -> float:
    return config["sound"]["audit"]["n_predict"]


def _sound_certification(layout: Layout, model: str, mode: str) -> str:
    return layout.sound(model, mode)


def module_name(module: str) -> str:
    """The dotted name of ``insta_rs.sound.<module>``."""
    return f"{__package__}.{module}"


@dataclass(frozen=True)
class AuditedMode:
    """How the audit checks a mode: the certification it checks ``(layout, model, mode)``, the constructor of
    the classifier a user queries (function ``constructor`` of ``insta_rs.sound.<module>``), the files that
    constructor reads beyond the model and its collapse guard ``(layout, model)``, and the forward passes of one
    query of that classifier beyond a search, given the config (the cost of the audit: one PREDICT)."""

    certification: Callable[[Layout, str, str], str]
    module: str
    constructor: str
    reads: Callable[[Layout, str], list[str]] = _reads_nothing
    query_passes: Callable[[dict], float] = _one_prediction

    def deployed(self) -> Callable:
        """The constructor, imported now (it needs torch and the data)."""
        return getattr(importlib.import_module(module_name(self.module)), self.constructor)


def _no_levels(sound: dict, n_levels: int) -> list[int]:
    return []


def _no_reading(sound: dict, n_levels: int) -> Reading | None:
    return None


@dataclass(frozen=True)
class SoundMode:
    """A sound mode.

    ``label``, ``definition``  its companion rows' label and what their numbers guarantee
    ``module``                 ``insta_rs.sound.<module>``, with its ``certificate`` and ``deployed``
    ``inputs``                 ``(layout, config, model) -> {name: path or paths}``: the results its certificate reads
    ``settings``               ``config -> dict``: what else its certificate depends on (its protocol)
    ``deployed_reads``, ``query_passes``  for the audit (:class:`AuditedMode`'s ``reads`` and ``query_passes``)
    ``levels_read``, ``reading``  ``(sound config, n_levels)``: the levels of the model's fixed-level certifications
                               it reads, and the :class:`~insta_rs.certification.sequential.Reading` it reads them at
    """

    label: str
    definition: str
    module: str
    inputs: Callable[[Layout, dict, str], Inputs]
    settings: Callable[[dict], dict]
    deployed_reads: Callable[[Layout, str], list[str]] = _reads_nothing
    query_passes: Callable[[dict], float] = _one_prediction
    levels_read: Callable[[dict, int], list[int]] = _no_levels
    reading: Callable[[dict, int], Reading | None] = _no_reading

    @property
    def audit(self) -> AuditedMode:
        return AuditedMode(_sound_certification, self.module, "deployed", self.deployed_reads, self.query_passes)

    def certificate(self) -> Callable[[Inputs, dict, str], str]:
        """The module's ``certificate``, imported now."""
        return importlib.import_module(module_name(self.module)).certificate


SOUND_MODES = {
    "cascade": SoundMode(
        "cascade (sound)", "sound: input-adaptive certificate (cascade over the levels, Jeong & Shin 2023; alpha/K "
                           "per level)",
        "cascade",
        inputs=lambda layout, config, model: {"levels": layout.levels(model, config["noise"]["n_levels"]),
                                              "guard": layout.collapse_guard(model)},
        settings=lambda config: {"p0": config["sound"]["cascade"]["p0"]},
        query_passes=lambda config: config["noise"]["n_levels"] * (config["certify"]["n0"]
                                                                   + config["sound"]["audit"]["n_predict"]),
        levels_read=lambda sound, n_levels: list(range(1, n_levels + 1)),
        reading=lambda sound, n_levels: Reading(1 / (2 * n_levels), sound["cascade"]["p0"])),
    "semi_elastic": SoundMode(
        "semi-elastic sigma (sound)", "sound: input-adaptive certificate (semi-elastic kNN sigma, Sukenik et al. "
                                      "2022)",
        "semi_elastic",
        inputs=lambda layout, config, model: {"tsv": layout.assigned(model, "knn"), "meta": layout.knn_meta(model)},
        settings=lambda config: {},
        deployed_reads=lambda layout, model: [layout.knn_meta(model)]),
    "dual": SoundMode(
        "Dual RS (sound)", "sound: input-adaptive certificate (Dual RS: a certified sigma selector, radius "
                           "min(R_sel, R_cls), Sun et al. 2026)",
        "dual",
        inputs=lambda layout, config, model: {
            "selector": layout.selector_certification(model),
            "levels": [layout.level(model, level) for level in config["sound"]["dual"]["levels"]]},
        settings=lambda config: {"levels": config["sound"]["dual"]["levels"], "sigma0": config["noise"]["sigma0"],
                                 "alpha_classifier": (1 - config["sound"]["dual"]["alpha_share"])
                                 * config["certify"]["alpha"]},
        deployed_reads=lambda layout, model: [layout.model_file(model, "selector.pt")],
        query_passes=lambda config: 2 * config["sound"]["audit"]["n_predict"],  # the selector, then the classifier
        levels_read=lambda sound, n_levels: list(sound["dual"]["levels"]),
        reading=lambda sound, n_levels: Reading(1 - sound["dual"]["alpha_share"])),
}
AUDIT_MODES = {
    "insta_rs": AuditedMode(lambda layout, model, mode: layout.assigned(model, DEPLOYED_SEARCH), "deployed",
                            "insta_rs"),
    **{name: mode.audit for name, mode in SOUND_MODES.items()},
    "level<k>": AuditedMode(lambda layout, model, mode: layout.level(model, level_of(mode)), "deployed",
                            "fixed_level"),
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


def audited_modules() -> list[str]:
    """The dotted names of the modules that hold the audited modes' deployed classifiers (the audit's code)."""
    return sorted({module_name(mode.module) for mode in AUDIT_MODES.values()})


def level_of(mode: str) -> int | None:
    """``k`` of a ``level<k>`` mode, else None."""
    match = _LEVEL.match(mode)
    return int(match.group(1)) if match else None
