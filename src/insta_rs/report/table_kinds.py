"""The registry of table kinds: the configured tables (config ``tables``) and those a run adds by itself.

Each :class:`TableKind` says when a run has the table, what it shows (its ``spec``: the ``table`` rule's param),
which result files it reads, and how it is built. The ``plan`` the functions receive is the run's
:class:`insta_rs.workflow.plan.Plan`. Adding a table kind: its module (a function returning a
:class:`~insta_rs.report.render.Table`), its entry in :data:`TABLE_KINDS`, its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from insta_rs.data.datasets import train_labels
from insta_rs.layout import Layout
from insta_rs.report.b3 import uniform_sigma_table
from insta_rs.report.build import build_table
from insta_rs.report.collapse_tables import levels_collapse_table, training_collapse_table
from insta_rs.report.render import Table
from insta_rs.report.speed import training_speed_table


@dataclass(frozen=True)
class TableJob:
    """What a table job builds from: the table's name and spec, the files it reads (in the plan's order), the
    run's files, the noise levels (``sigma0``, ``n_levels``) and the data set's settings."""

    name: str
    spec: dict
    inputs: list[str]
    layout: Layout
    noise: dict
    dataset: dict


@dataclass(frozen=True)
class TableKind:
    """A kind of table: whether a run has it (``wanted(plan)``; None for the configured tables), its spec
    (``spec(plan, name)``), the files it reads (``inputs(plan, name)``), whether it is a table of results (a
    collapse diagnostic is not: it adds no certification) and how it is built (``build(job)``)."""

    wanted: Callable | None
    spec: Callable
    inputs: Callable
    results: bool
    build: Callable[[TableJob], Table]


def _configured_spec(plan, name: str) -> dict:
    return {"table": plan.config["tables"][name], "sound": plan.sound_companions(),
            "radii": plan.config["analysis"]["radii"]}


def _build_configured(job: TableJob) -> Table:
    return build_table(job.name, job.spec["table"], job.layout, n_levels=job.noise["n_levels"],
                       sigma0=job.noise["sigma0"], default_radii=job.spec["radii"], sound_cfg=job.spec["sound"],
                       num_classes=job.dataset["num_classes"])


def _training_speed_spec(plan, name: str) -> dict:
    return {"train": {model: plan.config["models"][model]["train"] for model in plan.training_speed_models()}}


def _collapse_levels_spec(plan, name: str) -> dict:
    return {"collapse_levels": {model: plan.layout.levels(model, plan.n_levels) for model in plan.swept_models()}}


CONFIGURED = TableKind(None, _configured_spec, lambda plan, name: plan.configured_table_inputs(name), True,
                       _build_configured)
TABLE_KINDS: dict[str, TableKind] = {
    "b3": TableKind(lambda plan: bool(plan.b3_config()), lambda plan, name: {"b3": plan.b3_config()},
                    lambda plan, name: plan.b3_inputs(), True,
                    lambda job: uniform_sigma_table(job.spec["b3"]["models"], job.layout,
                                                    n_levels=job.noise["n_levels"], sigma0=job.noise["sigma0"],
                                                    paper_models=job.spec["b3"].get("paper_models"))),
    "training_speed": TableKind(lambda plan: bool(plan.training_speed_models()), _training_speed_spec,
                                lambda plan, name: [plan.layout.model_file(model, "sigma_assignment.json")
                                                    for model in plan.training_speed_models()], True,
                                lambda job: training_speed_table(dict(zip(job.spec["train"], job.inputs)),
                                                                 job.spec["train"], n_levels=job.noise["n_levels"])),
    "collapse_training": TableKind(lambda plan: bool(plan.training_level_files()),
                                   lambda plan, name: {"collapse_training": plan.training_level_files()},
                                   lambda plan, name: [*plan.training_level_files().values(),
                                                       plan.layout.data_flag()], False,
                                   lambda job: training_collapse_table(job.spec["collapse_training"],
                                                                       train_labels(job.dataset),
                                                                       job.noise["n_levels"],
                                                                       job.dataset["num_classes"])),
    "collapse_levels": TableKind(lambda plan: bool(plan.swept_models()), _collapse_levels_spec,
                                 lambda plan, name: [path for paths in _collapse_levels_spec(plan, name)[
                                     "collapse_levels"].values() for path in paths], False,
                                 lambda job: levels_collapse_table(job.spec["collapse_levels"],
                                                                   job.dataset["num_classes"])),
}


def table_kind(name: str) -> TableKind:
    """The kind of table ``name``: a kind of :data:`TABLE_KINDS` by its name, else a configured table."""
    return TABLE_KINDS.get(name, CONFIGURED)
