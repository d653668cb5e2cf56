"""Sharded steps: each job of a sharded rule computes shard ``i-of-K`` of its results (a contiguous part of the test
subset, or of the validation split) below a key of its protocol (:meth:`insta_rs.layout.Layout.shard`), and one job
of its merge rule makes the results from all their shards in order. The shard count is how, never what: the merged
results do not depend on it.

One :class:`ShardedStep` entry per sharded rule; the rule files make every certification rule
(workflow/rules/certify.smk) and every merge rule (shards.smk) from these entries. Free of torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Mapping

from insta_rs.layout import Layout, protocol_key
from insta_rs.search.registry import SEARCH_METHODS
from insta_rs.workflow.plan import one_of

if TYPE_CHECKING:
    from insta_rs.workflow.protocols import Protocols

# Each sharded rule and the rule that merges its shards.
MERGES = {"certify_levels": "merge_levels", "certify_level": "merge_level", "certify_validation": "merge_validation",
          "certify_assigned": "merge_assigned", "certify_selector": "merge_selector",
          "search_instance": "merge_search"}


@dataclass(frozen=True)
class ShardedStep:
    """The sharded rule ``rule``: its jobs write shards of ``results`` (a path pattern, or a list of them: one per
    level) under a key of ``protocol``; they are constrained by ``wildcards`` and log to ``<folder>/<i>-of-<K>.log``
    (benchmarks alike, the merge to ``<folder>/merge.log``). ``reads``: what a certification's jobs read (model,
    data, assignment); empty for a step with a rule of its own (the instance-wise search)."""

    layout: Layout
    rule: str
    results: str | list[str]
    protocol: Mapping[str, object]
    folder: tuple[str, ...]
    wildcards: dict[str, str]
    reads: dict[str, str] = field(default_factory=dict)

    @property
    def merge(self) -> str:
        """The rule that merges this step's shards."""
        return MERGES[self.rule]

    @cached_property
    def shards(self) -> str | list[str]:
        """What a job writes: the shard ``{scatteritem}`` of each of ``results``, shaped like ``results`` (hashed
        once: every merge job's input function reads it)."""
        key = protocol_key(self.protocol)
        if isinstance(self.results, str):
            return self.layout.shard(self.results, key)
        return [self.layout.shard(result, key) for result in self.results]

    def shard_patterns(self, wildcards: Mapping[str, str]) -> list[str]:
        """The shards (``{scatteritem}`` left in) of the results of the merge job with ``wildcards``."""
        shards = [self.shards] if isinstance(self.shards, str) else self.shards
        return [shard.format(**wildcards, scatteritem="{scatteritem}") for shard in shards]

    @property
    def log(self) -> str:
        return self.layout.log(*self.folder, "{scatteritem}.log")

    @property
    def benchmark(self) -> str:
        return self.layout.benchmark(*self.folder, "{scatteritem}.tsv")

    @property
    def merge_log(self) -> str:
        return self.layout.log(*self.folder, "merge.log")


def sharded_steps(protocols: Protocols) -> dict[str, ShardedStep]:
    """Every sharded step of the run, by rule: CERTIFY (Cohen et al.) at every level of the models whose every level
    is read, at one level of the others, at every level on the validation split (its own noise seed), at each test
    example's searched sigma, of Dual RS's selector; and the instance-wise search (Algorithm 1 or the grid)."""
    layout, plan, levels = protocols.layout, protocols.plan, protocols.plan.all_levels
    data = layout.data_flag()
    reads = {"model": layout.checkpoint("{model}"), "data": data}
    steps = [
        ShardedStep(layout, "certify_levels", [layout.level("{model}", level) for level in levels], protocols.certify,
                    ("certify", "{model}", "levels"), {"model": one_of(plan.swept_models())}, reads),
        ShardedStep(layout, "certify_level", layout.level("{model}", "{level}"), protocols.certify,
                    ("certify", "{model}", "level{level}"),
                    {"model": one_of(plan.single_level_models()), "level": r"\d+"}, reads),
        ShardedStep(layout, "certify_validation", [layout.validation_level("{model}", level) for level in levels],
                    protocols.validation_certify, ("certify", "{model}", "validation"),
                    {"model": one_of(list(protocols.config["models"]))}, reads),
        ShardedStep(layout, "certify_assigned", layout.assigned("{model}", "{assignment}"), protocols.certify,
                    ("certify", "{model}", "search_{assignment}"), {"assignment": one_of(plan.assignments())},
                    {**reads, "assignment": layout.search("{model}", "{assignment}")}),
        ShardedStep(layout, "certify_selector", layout.selector_certification("{model}"), protocols.selector_certify,
                    ("certify", "{model}", "selector"), {"model": one_of(plan.dual_models())},
                    {"model": layout.model_file("{model}", "selector.pt"), "data": data}),
        ShardedStep(layout, "search_instance", layout.search("{model}", "{method}"), protocols.search,
                    ("search", "{model}", "{method}"), {"method": one_of(SEARCH_METHODS)}),
    ]
    return {step.rule: step for step in steps}


def certifications(steps: Mapping[str, ShardedStep]) -> list[ShardedStep]:
    """The sharded certifications, all run by scripts/certify.py (every step that names what its jobs read)."""
    return [step for step in steps.values() if step.reads]
