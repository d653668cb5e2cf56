"""The paper's own numbers (package data ``paper_numbers.yaml``), printed beside the reproduced ones.

A table row names one with ``paper_row: "<table>/<row>"`` (e.g. ``"table1/cohen-0.50"``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources

import yaml


@dataclass(frozen=True)
class PaperRow:
    """One row of one of the paper's tables."""

    table: str
    label: str
    radii: tuple[float, ...]
    cert_acc: tuple[float, ...]
    acr: float
    ass: float | None
    setting: str

    def cert_acc_at(self, radius: float) -> float | None:
        """The paper's certified accuracy at ``radius``, or None if its table has no such column."""
        for r, value in zip(self.radii, self.cert_acc):
            if math.isclose(r, radius, abs_tol=1e-9):
                return value
        return None


@functools.cache
def paper_numbers() -> dict:
    """The contents of the package's ``paper_numbers.yaml``."""
    return yaml.safe_load(resources.files("insta_rs.report").joinpath("paper_numbers.yaml").read_text())


def known_paper_rows() -> list[str]:
    """Every ``"<table>/<row>"`` of the paper's numbers."""
    return [f"{table}/{row}" for table, value in paper_numbers().items() for row in value.get("rows", {})]


def paper_row(reference: str) -> PaperRow:
    """Look up ``"<table>/<row>"`` (e.g. ``"table1/cohen-0.50"``) in the paper's numbers."""
    table_name, _, row_name = reference.partition("/")
    tables = paper_numbers()
    if table_name not in tables or row_name not in tables[table_name].get("rows", {}):
        raise ValueError(f"paper_row {reference!r} is not in paper_numbers.yaml; known rows: "
                         f"{', '.join(known_paper_rows())}")
    table, row = tables[table_name], tables[table_name]["rows"][row_name]
    return PaperRow(table=table_name, label=row["label"], radii=tuple(table["radii"]), cert_acc=tuple(row["cert_acc"]),
                    acr=row["acr"], ass=row.get("ass"), setting=table["setting"])
