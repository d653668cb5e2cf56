"""The settings of the sequential procedure (:mod:`.sequential`): ``certify.sequential`` of the config, checked, and
the ``procedure`` label a certification records them by."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

import numpy as np

MODES = ("radius", "decision")
TOLERANCE_KINDS = ("relative", "absolute")
TABLE_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25)


@dataclass(frozen=True)
class SequentialSettings:
    """``certify.sequential`` of the config (:mod:`.sequential` for the meaning of each key)."""

    mode: str = "radius"                  # "radius": a radius within tolerance; "decision": the table radius
    tolerance: float = 0.02               # radius mode: largest expected gain from continuing to the cap
    tolerance_kind: str = "relative"      # "relative" (of the predicted final radius) or "absolute" (radius units)
    first_round: int = 100                # estimation samples in the first round
    growth: float = 1.25                  # ratio of successive round ends
    cap_share: float = 0.5                # share of alpha given to the cap round
    radii: tuple[float, ...] = TABLE_RADII  # decision mode: the table's radii

    def __post_init__(self):
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode = {self.mode!r} is not one of {list(MODES)}")
        if self.tolerance_kind not in TOLERANCE_KINDS:
            problems.append(f"tolerance_kind = {self.tolerance_kind!r} is not one of {list(TOLERANCE_KINDS)}")
        if not self.tolerance >= 0:
            problems.append(f"tolerance = {self.tolerance!r} must be >= 0")
        if not (isinstance(self.first_round, int) and self.first_round >= 1):
            problems.append(f"first_round = {self.first_round!r} must be a positive integer")
        if not self.growth > 1:
            problems.append(f"growth = {self.growth!r} must be > 1")
        if not 0 < self.cap_share < 1:
            problems.append(f"cap_share = {self.cap_share!r} must lie in (0, 1)")
        if not self.radii or any(not r >= 0 for r in self.radii):
            problems.append(f"radii = {list(self.radii)!r} must be a non-empty list of radii >= 0")
        if problems:
            raise ValueError("; ".join(f"certify.sequential.{problem}" for problem in problems))
        object.__setattr__(self, "radii", tuple(sorted({0.0, *map(float, self.radii)})))

    @classmethod
    def from_dict(cls, values: Mapping | None) -> SequentialSettings:
        """Settings from ``certify.sequential`` (missing keys take the defaults; unknown keys are errors)."""
        values = dict(values or {})
        known = [field.name for field in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(", ".join(f"certify.sequential.{key}" for key in unknown)
                             + f": unknown key; the keys are {known}")
        if "radii" in values:
            values["radii"] = tuple(values["radii"])
        return cls(**values)

    @classmethod
    def from_label(cls, label: str) -> SequentialSettings:
        """The settings a :meth:`label` was made from (the schedule exactly; numbers to :meth:`label`'s digits)."""
        try:
            name, mode, what, schedule, cap = label.split(":")[:5]
            first_round, growth = schedule.split("x")
            if name != "sequential" or not cap.startswith("cap"):
                raise ValueError
            values = {"mode": mode, "first_round": int(first_round), "growth": float(growth),
                      "cap_share": float(cap[3:])}
            if mode == "radius":
                values |= {"tolerance_kind": "relative" if what.startswith("rel") else "absolute",
                           "tolerance": float(what[3:])}
            else:
                values["radii"] = tuple(float(r) for r in what[1:].split(","))
        except ValueError:
            raise ValueError(f"procedure {label!r} is not a sequential procedure's label "
                             "(sequential:<mode>:<tolerance or radii>:<first>x<growth>:cap<share>)") from None
        return cls(**values)

    def reported(self, radius: np.ndarray) -> np.ndarray:
        """A certified radius as this procedure reports it: as it is (radius mode) or floored to the largest table
        radius it reaches (decision mode; 0 stays 0)."""
        radius = np.asarray(radius, dtype=float)
        if self.mode == "radius":
            return radius
        radii = np.asarray(self.radii)
        reached = (radius[..., None] >= radii).sum(axis=-1)
        return np.where(reached > 0, radii[np.maximum(reached - 1, 0)], 0.0)

    def label(self) -> str:
        """The ``procedure`` column: mode, tolerance (radius mode) or radii (decision mode), schedule."""
        if self.mode == "radius":
            what = f"{'rel' if self.tolerance_kind == 'relative' else 'abs'}{self.tolerance:g}"
        else:
            what = "r" + ",".join(f"{r:g}" for r in self.radii)
        return f"sequential:{self.mode}:{what}:{self.first_round}x{self.growth:g}:cap{self.cap_share:g}"
