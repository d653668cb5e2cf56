"""The bill of a run, ``results/<run>/cost.md`` (``snakemake cost``): the forward passes of every rule and every
target of :class:`insta_rs.cost.passes.RunCost`, device time at the throughput measured on this machine
(:mod:`insta_rs.cost.calibrate`) and at published timings where they exist, and under the sequential procedure the
fixed-N cost as the cap beside the range expected from measured pass ratios. Reference figures with their sources
are data, ``reference.yaml``."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Mapping, Sequence

import yaml

from insta_rs.certification.procedures import PROCEDURES
from insta_rs.certification.sequential_settings import SequentialSettings
from insta_rs.cost.calibrate import MAX_PASSES, Throughput
from insta_rs.cost.passes import SHARDED_RULES, RunCost, Work, assumed_ass
from insta_rs.training.methods import METHODS


@functools.cache
def reference() -> dict:
    """The package's ``reference.yaml``: published timings and measured sequential pass ratios."""
    return yaml.safe_load(resources.files("insta_rs.cost").joinpath("reference.yaml").read_text())


def sequential_ratios(sequential: Mapping) -> tuple[float, float, str]:
    """The smallest and largest measured fraction of the cap N that the sequential procedure of these settings
    spends per example, and what they were measured on (radius mode: at the measured tolerance nearest the
    configured one)."""
    settings, measured = SequentialSettings.from_dict(dict(sequential)), reference()["sequential_pass_ratios"]
    rows = [row for row in measured["rows"] if row["mode"] == settings.mode]
    note = f"{settings.mode} mode"
    if settings.mode == "radius":
        nearest = min({row["tolerance"] for row in rows}, key=lambda tolerance: abs(tolerance - settings.tolerance))
        rows = [row for row in rows if row["tolerance"] == nearest]
        note += f", tolerance {nearest:g}" + ("" if nearest == settings.tolerance else
                                              f" (the measured one nearest to the configured {settings.tolerance:g})")
    ratios = [row["passes"] for row in rows]
    return min(ratios), max(ratios), f"{note}, {measured['measured_on']} ({measured['source']})"


def published_rate(arch: str, shape: Sequence[int]) -> float | None:
    """Forward passes per second at the published timing of ``arch`` on inputs of ``shape``, else None."""
    published = reference()["published_timings"]
    for row in published["seconds_per_image"]:
        if row["arch"] == arch and tuple(row["shape"]) == tuple(shape):
            return published["passes_per_image"] / row["seconds"]
    return None


def duration(seconds: float | None) -> str:
    """``42 s``, ``12.5 min``, ``3.41 h``, ``514 h``; ``n/a`` for None."""
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    hours = seconds / 3600
    return f"{hours:,.0f} h" if hours >= 100 else f"{hours:.3g} h"


def count(passes: float) -> str:
    """``0``, ``52.3 k``, ``7.77 G``: forward passes with a unit."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if passes >= scale:
            return f"{passes / scale:.3g} {unit}"
    return f"{passes:.0f}"


class Bill:
    """Device time of sets of work at given throughputs (``arch -> passes per second``), fixed-N and, for a
    sequential run, the expected range."""

    def __init__(self, cost: RunCost, measured: Mapping[str, float]):
        self.cost, self.measured = cost, measured
        self.published = {arch: published_rate(arch, cost.splits.shape) for arch in measured}
        certify = cost.config["certify"]
        procedure = PROCEDURES[certify["procedure"]]
        self.ratios = None if procedure.fixed_n else sequential_ratios(certify[procedure.settings_key])

    def passes(self, keys: Sequence[str], ratio: float = 1.0) -> float:
        """Forward passes of ``keys`` when sequential certifications spend ``ratio`` of their cap."""
        return sum(self.cost.work[key].passes - (1 - ratio) * self.cost.work[key].scaled for key in keys)

    def forward_passes(self, keys: Sequence[str]) -> str:
        """Forward passes of ``keys``; for a sequential run with sequential work in them, the cap and the range."""
        if self.ratios is None or not any(self.cost.work[key].scaled for key in keys):
            return count(self.passes(keys))
        low, high = (count(self.passes(keys, ratio)) for ratio in self.ratios[:2])
        return f"cap {count(self.passes(keys))}; expected {low} to {high}"

    def seconds(self, keys: Sequence[str], rates: Mapping[str, float | None], ratio: float = 1.0) -> float | None:
        """Device seconds of the work of ``keys`` whose architecture has a rate (None: none has)."""
        work = [self.cost.work[key] for key in keys if self.cost.work[key].passes]
        timed = [w for w in work if rates.get(w.arch)]
        return sum((w.passes - (1 - ratio) * w.scaled) / rates[w.arch] for w in timed) if timed else None

    def time(self, keys: Sequence[str], rates: Mapping[str, float | None]) -> str:
        """Device time of ``keys`` (``-`` without forward passes; ``>= t`` when some of their architectures have no
        rate); for a sequential run with sequential work in them, the cap and the expected range."""
        if not self.passes(keys):
            return "-"
        partial = ">= " if any(not rates.get(self.cost.work[key].arch) for key in keys if self.cost.work[key].passes) \
            else ""
        fixed = duration(self.seconds(keys, rates))
        if self.ratios is None or not any(self.cost.work[key].scaled for key in keys) or fixed == "n/a":
            return fixed if fixed == "n/a" else partial + fixed
        low, high = (duration(self.seconds(keys, rates, ratio)) for ratio in self.ratios[:2])
        return f"cap {partial}{fixed}; expected {partial}{low} to {high}"


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def rule_table(bill: Bill) -> list[str]:
    """One row per rule with forward passes: its jobs, passes, device time measured and at published timings."""
    published = reference()["published_timings"]["device"]
    lines = [_row(["rule", "jobs", "forward passes", "device time (measured)", f"at published timings ({published})"]),
             "|---|---:|---:|---:|---:|"]
    needed = list(dict.fromkeys(key for _, keys in bill.cost.targets() for key in keys))
    counted = [key for key in needed if bill.cost.work[key].passes]
    for rule in dict.fromkeys(bill.cost.work[key].rule for key in counted):
        mine = [key for key in counted if bill.cost.work[key].rule == rule]
        lines.append(_row([rule, sum(bill.cost.work[key].jobs for key in mine), bill.forward_passes(mine),
                           bill.time(mine, bill.measured), bill.time(mine, bill.published)]))
    lines.append(_row(["**total**", sum(bill.cost.work[key].jobs for key in counted), bill.forward_passes(counted),
                       bill.time(counted, bill.measured), bill.time(counted, bill.published)]))
    free = sorted({bill.cost.work[key].rule for key in needed if not bill.cost.work[key].passes})
    lines += ["", "Not counted: rules without forward passes (seconds to minutes each on a CPU): "
              + ", ".join([*free, "data preparation and downloads, merges, tables, figures, the other sound steps"])
              + "; and every job's start (Python, the data and the model: seconds, which dominate tiny runs)."]
    return lines


def target_table(bill: Bill) -> list[str]:
    """One row per table, figure, sound certificate and the audit, each job at the first target that needs it."""
    lines = [_row(["target", "new models", "certifications", "forward passes", "device time (measured)",
                   "of which training", "at published timings"]), "|---|---|---:|---:|---:|---:|---:|"]
    for name, keys in bill.cost.first_needed():  # tables by name; figures, sound certificates, audit by kind
        work: list[Work] = [bill.cost.work[key] for key in keys]
        models = sorted({w.subject for w in work if w.rule in ("import_pretrained", "train_fixed_sigma",
                                                                "insta_stage2", "pfat_stage2", "export_stage1")})
        training = [key for key, w in zip(keys, work) if w.training]
        lines.append(_row([name, ", ".join(models) or "-", sum(w.certifications for w in work) or "-",
                           bill.forward_passes(keys), bill.time(keys, bill.measured),
                           bill.time(training, bill.measured), bill.time(keys, bill.published)]))
    return lines


def calibration_table(throughputs: Mapping[str, Throughput], published: Mapping[str, float | None]) -> list[str]:
    """The measured throughput of every architecture, beside the published one."""
    lines = [_row(["architecture", "input", "batch (config)", "batch measured", "passes timed",
                   "forward passes/s (measured)", "forward passes/s (published)"]),
             "|---|---|---:|---:|---:|---:|---:|"]
    for arch, measured in throughputs.items():
        rate = published.get(arch)
        lines.append(_row([arch, "x".join(map(str, measured.shape)), measured.configured_batch, measured.batch_size,
                           measured.passes, f"{measured.passes_per_s:,.0f}", f"{rate:,.0f}" if rate else "n/a"]))
    return lines


def assumptions(cost: RunCost, bill: Bill) -> list[str]:
    """What the counts assume, with the numbers this config gives them."""
    config, splits = cost.config, cost.splits
    published = reference()["published_timings"]
    missing = [f"{arch} on {'x'.join(map(str, splits.shape))}" for arch, rate in bill.published.items() if not rate]
    lines = [f"- Examples: {splits.test:,} test, {splits.validation:,} validation, {splits.train:,} training; "
             f"{', '.join(SHARDED_RULES)} run certify.shards = {config['certify']['shards']} jobs per subject. "
             "'certifications' counts certifications of the whole test subset.",
             f"- Algorithm 1 evaluates ASS = {assumed_ass(cost.plan.n_levels):g} levels per example (the paper's "
             "Table 3, an assumption: your models' ASS is in the search logs); the grid and Algorithm 3 at most "
             f"all {cost.plan.n_levels}.",
             "- Training: forward-pass equivalents (a backward pass counts as two forward passes) per example and "
             "epoch, by method: " + ", ".join(f"{name} {method.forward_cost(defaults)}" for name, method, defaults in (
                 (name, method, {k: o.default for k, o in method.options.items()}) for name, method in METHODS.items()))
             + " (at its default options); data loading is assumed hidden behind the device; training runs at the "
             "certification throughput measured here. Dual RS's selector counts every training example (an upper "
             "bound: only labelled ones train).",
             "- The audit is an upper bound: every candidate point is predicted twice (the confirmation).",
             f"- Published timings: {published['source']} on an {published['device']}" + (
                 f"; none for {', '.join(missing)} (n/a; '>=' where it is part of the work)" if missing else "") + "."]
    if bill.ratios is not None:
        low, high, note = bill.ratios
        lines.append(f"- Sequential certification of the test subset: the fixed-N cost is the cap; the expected "
                     f"range uses {low:.3f} to {high:.3f} of the cap's estimation samples per example ({note}). "
                     "Selection samples, searches, the validation split and Dual RS's selector are fixed-N.")
    return lines


def render(cost: RunCost, throughputs: Mapping[str, Throughput], device: str, budget_s: float,
           notes: Sequence[str] = ()) -> str:
    """``cost.md``: calibration, per rule, per target, assumptions (``notes`` first: e.g. no GPU here)."""
    bill = Bill(cost, {arch: measured.passes_per_s for arch, measured in throughputs.items()})
    config = cost.config
    lines = [f"# What run `{config['run']}` costs", "",
             "Forward passes of every job of the run (training: forward-pass equivalents) and device time at the "
             "throughput measured on this machine, beside the device time at published timings where they exist "
             "(`snakemake cost`, insta_rs.cost.passes). Estimates: each job's `benchmark:` file records its real time.", "",
             *[f"> {note}" for note in notes], *([""] if notes else []),
             f"## Calibration on {device}, precision {config['precision']}", "",
             f"The certification engine (noise, forward pass, counting) with random weights on random inputs, at most "
             f"about {budget_s:g} s (cost.calibration_s) or {MAX_PASSES} passes per architecture; a smaller batch than "
             "the config's where a pass of the configured one would not fit in a quarter of that time.", "",
             *calibration_table(throughputs, bill.published), "", "## Per rule", "", *rule_table(bill), "",
             "## Per target (each job counted once, at the first target that needs it)", "", *target_table(bill), "",
             "## Assumptions", "", *assumptions(cost, bill)]
    return "\n".join(lines).rstrip() + "\n"
