"""Certification procedures, each defined once: ``certify.procedure`` names one of :data:`PROCEDURES`.

A procedure certifies a batch of examples with one call signature and names itself in the ``procedure``
column of the certification TSV (:attr:`Procedure.label`), so that a resumed run keeps only rows made
with the same settings, every table can say which procedure produced it, and a reader can rebuild the
procedure from the column (:func:`procedure_from_label`) to recompute bounds at another level
(:meth:`Procedure.bounds`: the alpha/K envelope, the cascade, Dual RS's classifier share).

- ``cohen``: Cohen et al.'s CERTIFY with N fixed (:meth:`insta_rs.certification.smoothing.Smoother.certify`), the default
  and the one that reproduces the paper's numbers. A bound at ``alpha'`` is Clopper-Pearson at ``alpha'``
  on the same counts.
- ``sequential``: the anytime-valid sequential CERTIFY with ``certify.n`` as the cap
  (:mod:`insta_rs.certification.sequential`), settings under ``certify.sequential``; the readings the workflow will make of
  the certification at other levels are part of it (they change when it stops). A bound at ``alpha'`` is the
  stopping round's, every round's level scaled by ``alpha' / alpha`` (:mod:`insta_rs.certification.sequential`, proof there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Mapping, Protocol, Sequence

import numpy as np

from insta_rs.certification.records import FIXED_N
from insta_rs.certification.sequential import Reading, Schedule, SequentialRule
from insta_rs.certification.sequential_settings import SequentialSettings
from insta_rs.certification.stats import p_upper_bound, pA_lower_bound

if TYPE_CHECKING:  # the registry is read while the workflow parses its rules: no torch at import
    import torch

    from insta_rs.certification.smoothing import Certificates, Smoother


class Procedure(Protocol):
    label: str
    cohen_radius: bool  # every radius is sigma * PhiInv(pA_lower) (Cohen et al. Theorem 1)
    fixed_n: ClassVar[bool]  # n estimation samples for every example: the counts serve a reading at any level
    settings_key: ClassVar[str | None]  # the key under ``certify`` that holds its settings
    fewest_per_chunk: ClassVar[int]  # examples certified together at the least (rows are saved chunk by chunk)

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        """Certify every row of ``x`` at ``sigma``: ``n0`` selection samples, at most ``n`` estimation samples."""

    def bounds(self, n: int, alpha: float) -> CountBounds:
        """Bounds from the recorded counts of a certification with cap ``n`` at ``alpha``, at any level."""

    def reported(self, radius: np.ndarray) -> np.ndarray:
        """A certified radius as the procedure reports it (decision mode floors it to the table radii)."""


@dataclass(frozen=True)
class CountBounds:
    """One-sided Clopper-Pearson bounds on a class probability from a certification's recorded counts, valid at
    level ``alpha_new`` at the round it stopped (``n_used`` samples): at the round's level in ``schedule`` scaled by
    ``alpha_new / alpha`` (fixed N: one round, ``alpha_new`` itself)."""

    schedule: Schedule

    def _levels(self, n_used: np.ndarray, alpha_new: float) -> np.ndarray:
        return self.schedule.alphas[self.schedule.round_of(n_used)] * (alpha_new / self.schedule.alphas.sum())

    def lower(self, count: np.ndarray, n_used: np.ndarray, alpha_new: float) -> np.ndarray:
        return pA_lower_bound(count, n_used, self._levels(n_used, alpha_new))

    def upper(self, count: np.ndarray, n_used: np.ndarray, alpha_new: float) -> np.ndarray:
        return p_upper_bound(count, n_used, self._levels(n_used, alpha_new))


@dataclass(frozen=True)
class Cohen:
    """Cohen et al.'s CERTIFY: ``n`` estimation samples for every example."""

    label: str = FIXED_N
    cohen_radius: bool = True
    fixed_n: ClassVar[bool] = True
    settings_key: ClassVar[str | None] = None
    fewest_per_chunk: ClassVar[int] = 1

    @classmethod
    def from_config(cls, certify: Mapping, readings: Sequence[Reading] = ()) -> Cohen:
        return cls()

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        return smoother.certify(x, sigma, idx, n0, n, alpha, seed)

    def bounds(self, n: int, alpha: float) -> CountBounds:
        return CountBounds(Schedule(np.array([n]), np.array([alpha])))

    def reported(self, radius: np.ndarray) -> np.ndarray:
        return np.asarray(radius, dtype=float)


@dataclass(frozen=True)
class Sequential:
    """Sequential CERTIFY (:mod:`insta_rs.certification.sequential`) with ``n`` as the cap, settling ``readings`` too."""

    settings: SequentialSettings = SequentialSettings()
    readings: tuple[Reading, ...] = ()
    fixed_n: ClassVar[bool] = False
    settings_key: ClassVar[str | None] = "sequential"
    fewest_per_chunk: ClassVar[int] = 64  # a chunk needs many examples to keep its batches full

    @classmethod
    def from_config(cls, certify: Mapping, readings: Sequence[Reading] = ()) -> Sequential:
        return cls(SequentialSettings.from_dict(certify.get("sequential")),
                   tuple(sorted(set(readings) - {Reading()}, reverse=True)))

    @property
    def label(self) -> str:
        """The settings' label, then ``:read<share>[p<p0>],...`` when the certification settles other readings."""
        extra = ",".join(reading.label for reading in self.readings)
        return self.settings.label() + (f":read{extra}" if extra else "")

    @property
    def cohen_radius(self) -> bool:
        """Radius mode reports sigma * PhiInv(pA_lower); decision mode the largest table radius below it."""
        return self.settings.mode == "radius"

    def rule(self, n: int, alpha: float) -> SequentialRule:
        return SequentialRule.from_settings(self.settings, n, alpha, self.readings)

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        return smoother.certify_sequential(x, sigma, idx, n0, seed, self.rule(n, alpha))

    def bounds(self, n: int, alpha: float) -> CountBounds:
        return CountBounds(self.rule(n, alpha).schedule)

    def reported(self, radius: np.ndarray) -> np.ndarray:
        return self.settings.reported(radius)


PROCEDURES = {FIXED_N: Cohen, "sequential": Sequential}


def procedure_from_config(certify: Mapping, readings: Sequence[Reading] = ()) -> Procedure:
    """The procedure ``certify.procedure`` (default ``cohen``) with its settings from the ``certify`` config, settling
    ``readings`` (:class:`~insta_rs.certification.sequential.Reading`; ignored by fixed-N CERTIFY, whose counts serve every level)."""
    name = certify.get("procedure", FIXED_N)
    if name not in PROCEDURES:
        raise ValueError(f"certify.procedure = {name!r} is not one of {sorted(PROCEDURES)}")
    return PROCEDURES[name].from_config(certify, readings)


def procedure_from_label(label: str) -> Procedure:
    """The procedure a certification TSV's ``procedure`` column names (:attr:`Procedure.label`)."""
    if label == FIXED_N:
        return Cohen()
    settings_label, _, readings = label.partition(":read")
    return Sequential(SequentialSettings.from_label(settings_label),
                      tuple(Reading.from_label(text) for text in readings.split(",") if text))
