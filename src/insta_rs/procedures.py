"""Certification procedures, each defined once: ``certify.procedure`` names one of :data:`PROCEDURES`.

A procedure certifies a batch of examples with one call signature and names itself in the ``procedure``
column of the certification TSV (:attr:`Procedure.label`), so that a resumed run keeps only rows made
with the same settings and every table can say which procedure produced it.

- ``cohen``: Cohen et al.'s CERTIFY with N fixed (:meth:`insta_rs.smoothing.Smoother.certify`), the default
  and the one that reproduces the paper's numbers.
- ``sequential``: the anytime-valid sequential CERTIFY with ``certify.n`` as the cap
  (:mod:`insta_rs.sequential`), settings under ``certify.sequential``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Protocol

from .sequential import SequentialRule, SequentialSettings

if TYPE_CHECKING:  # the registry is read while the workflow parses its rules: no torch at import
    import numpy as np
    import torch

    from .smoothing import Certificates, Smoother


class Procedure(Protocol):
    label: str
    cohen_radius: bool  # every radius is sigma * PhiInv(pA_lower) (Cohen et al. Theorem 1)

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        """Certify every row of ``x`` at ``sigma``: ``n0`` selection samples, at most ``n`` estimation samples."""


@dataclass(frozen=True)
class Cohen:
    """Cohen et al.'s CERTIFY: ``n`` estimation samples for every example."""

    label: str = "cohen"
    cohen_radius: bool = True

    @classmethod
    def from_config(cls, certify: Mapping) -> Cohen:
        return cls()

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        return smoother.certify(x, sigma, idx, n0, n, alpha, seed)


@dataclass(frozen=True)
class Sequential:
    """Sequential CERTIFY (:mod:`insta_rs.sequential`) with ``n`` as the cap."""

    settings: SequentialSettings = SequentialSettings()

    @classmethod
    def from_config(cls, certify: Mapping) -> Sequential:
        return cls(SequentialSettings.from_dict(certify.get("sequential")))

    @property
    def label(self) -> str:
        return self.settings.label()

    @property
    def cohen_radius(self) -> bool:
        """Radius mode reports sigma * PhiInv(pA_lower); decision mode the largest table radius below it."""
        return self.settings.mode == "radius"

    def certify(self, smoother: Smoother, x: torch.Tensor, sigma: np.ndarray, idx: np.ndarray, n0: int, n: int,
                alpha: float, seed: int) -> Certificates:
        rule = SequentialRule.from_settings(self.settings, n, alpha)
        return smoother.certify_sequential(x, sigma, idx, n0, seed, rule)


PROCEDURES = {"cohen": Cohen, "sequential": Sequential}


def procedure_from_config(certify: Mapping) -> Procedure:
    """The procedure ``certify.procedure`` (default ``cohen``) with its settings from the ``certify`` config."""
    name = certify.get("procedure", "cohen")
    if name not in PROCEDURES:
        raise ValueError(f"certify.procedure = {name!r} is not one of {sorted(PROCEDURES)}")
    return PROCEDURES[name].from_config(certify)
