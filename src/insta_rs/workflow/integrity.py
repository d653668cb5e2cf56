"""Nothing wrong reaches a table: every result is sealed when a job writes it (:mod:`insta_rs.workflow.seal`) and checked
where it is read. Every step script runs through :func:`run_step`, every merge is a :func:`merge_step`.

- A job verifies each result it reads (:func:`verify_inputs`): intact (what the workflow wrote, byte for byte),
  computed under the protocol this run's config names for it (:mod:`insta_rs.workflow.protocols`), and computed from the
  results that are here now. A result that fails is set aside (never deleted) and the job stops with one
  message: the file (and line), what is wrong, and that running the same command again recomputes it.
- A job seals what it wrote (:func:`seal_outputs`), after checking that the protocol the config names for each
  output is the job's own params.
- At the start of a run, :func:`check_results` verifies every sealed result of the run and sets aside the damaged
  ones, and the results without a seal, so that the same run recomputes them.

This module checks results and computes none: it is no code dependency of a step (:mod:`insta_rs.workflow.code_deps`), so
an edit here re-runs nothing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Iterable

from insta_rs.files import merge_shards, set_aside
from insta_rs.layout import Layout, protocol_key
from insta_rs.runtime.runlog import setup_step_logging
from insta_rs.workflow.protocols import Protocols
from insta_rs.workflow.seal import SUFFIX, SealError, damage, read_seal, seal_path, write_seal

logger = logging.getLogger(__name__)

RECOMPUTE = "run the same command again: it recomputes it"
UNSEALED = ("has no seal: it was written before results were sealed, or not by this workflow; a result that cannot "
            "be checked is not used")
DIRECTORY_KINDS = ("training_levels",)  # results that are directories (a rule's directory() output)
_SKIPPED = (SUFFIX, ".partial", ".tmp")  # seals, partial files of jobs that resume, temporary files


class ResultError(RuntimeError):
    """A result a job reads is damaged or not the one this run's protocol names; it has been set aside."""


def _name(layout: Layout, path: str | os.PathLike) -> str:
    """``path`` within its run (``certify/insta/level2.tsv``)."""
    return Path(path).relative_to(layout.root).as_posix()


def _protocol_difference(written: object, expected: object, where: str = "") -> str:
    """The first setting in which two protocols differ: ``key = <written> where this run's is <expected>``."""
    if isinstance(written, dict) and isinstance(expected, dict):
        for key in sorted(set(written) | set(expected), key=str):
            if written.get(key, "(unset)") != expected.get(key, "(unset)"):
                return _protocol_difference(written.get(key, "(unset)"), expected.get(key, "(unset)"),
                                            f"{where}.{key}" if where else str(key))
    return f"{where or 'the protocol'} = {written!r} where this run's is {expected!r}"


def _integrity(path: str, layout: Layout) -> tuple[str | None, str, dict | None]:
    """Whether result ``path`` is what the workflow wrote: ``(what is wrong or None, the label it would be set aside
    as, its seal)``."""
    try:
        seal = read_seal(path)
    except SealError as error:
        return str(error), "damaged", None
    if seal is None:
        return UNSEALED, "unsealed", None
    return damage(path, seal, _name(layout, path)), "damaged", seal


def problem(path: str, protocols: Protocols) -> tuple[str | None, str]:
    """What is wrong with result ``path`` for a job of this run (None when it may be read): not what the workflow
    wrote, computed under another protocol than the one this run names for it, or computed from another version of
    a result that is here; and the label it would be set aside as (``damaged`` or ``unsealed``)."""
    found, label, seal = _integrity(path, protocols.layout)
    if found:
        return found, label
    expected = protocols.of(path)
    if seal["protocol_key"] != protocol_key(expected):
        return ("was computed under another protocol than this run's ("
                f"{_protocol_difference(seal['protocol'], expected)}): a result of another run, or of this run "
                "before its config changed"), "damaged"
    for name, sha256 in seal["inputs"].items():  # each was checked when this result was computed from it
        try:
            now = read_seal(protocols.layout.path(name))
        except SealError:
            continue  # that result's own readers find it damaged
        if now is not None and now["sha256"] != sha256:
            return f"was computed from another {name} than the one here", "damaged"
    return None, ""


def verify_inputs(paths: Iterable[str], protocols: Protocols) -> dict[str, str]:
    """Verify every result among ``paths`` (a job's inputs; other files are not results); ``{name: sha256}`` of
    them. ResultError naming the first bad one, after setting it aside (and its seal)."""
    verified = {}
    for path in paths:
        if protocols.layout.parse(str(path)) is None or not os.path.exists(path):
            continue
        found, label = problem(str(path), protocols)
        if found:
            aside = set_aside(path, found, label, announce=False)
            raise ResultError(f"{path}: {found}; moved it to {aside}; {RECOMPUTE}")
        verified[_name(protocols.layout, path)] = read_seal(path)["sha256"]
    return verified


def seal_outputs(paths: Iterable[str], protocols: Protocols, params: dict, inputs: dict[str, str], rule: str) -> None:
    """Seal each result among ``paths`` (a job's outputs) with its protocol and the results it was computed from;
    RuntimeError when the protocol the config names for an output is not the job's ``params`` (a bug)."""
    for path in paths:
        if protocols.layout.parse(str(path)) is None:
            continue
        expected = protocols.of(str(path))
        if protocol_key(expected) != protocol_key(params):
            raise RuntimeError(f"insta_rs.workflow.protocols names for {path} another protocol than the params of rule {rule} "
                               f"({_protocol_difference(params, expected)}); fix Protocols.producer")
        write_seal(path, _name(protocols.layout, path), expected, protocol_key(expected), inputs)


def run_step(snakemake, step: Callable[[object, logging.Logger], None]) -> None:
    """Run a workflow step as every script does: log to the rule's log file (and stdout), verify the results it
    reads (:func:`verify_inputs`: a bad one is set aside and the job stops with one message naming it), call
    ``step(snakemake, logger)``, and seal the results it wrote."""
    logger = setup_step_logging(snakemake.log[0], snakemake.threads)
    protocols = Protocols.of_config(snakemake.config)
    try:
        inputs = verify_inputs(snakemake.input, protocols)
    except ResultError as error:
        logger.error("%s", error)
        raise SystemExit(1) from None
    step(snakemake, logger)
    seal_outputs(snakemake.output, protocols, dict(snakemake.params.items()), inputs, snakemake.rule)


def merge_step(shards: list[str], outputs: list[str], log_path: str, protocols: Protocols, tracked: dict,
               rule: str) -> None:
    """A ``merge_*`` job: verify the shards, merge them into ``outputs`` (:func:`insta_rs.files.merge_shards`) and
    seal those with what the shards were computed from; the shards' seals go with the shards (temporary)."""
    verify_inputs(shards, protocols)
    inputs = {name: sha256 for shard in shards for name, sha256 in read_seal(shard)["inputs"].items()}
    merge_shards(shards, outputs, log_path)
    seal_outputs(outputs, protocols, tracked, inputs, rule)
    for shard in shards:
        seal_path(shard).unlink()


# ---------------------------------------------------------------------------------------------- the run's folder

def check_results(layout: Layout, act: bool) -> list[tuple[str, str]]:
    """Verify every result under ``layout.root`` against its seal (a directory result as a whole); with ``act``,
    set aside the damaged ones and those without a seal. ``(path, line)`` for each: the line says what is wrong and
    what was (or, without ``act``, would be) done. Protocols are not checked here (a changed config legitimately
    re-runs results): each job checks those of what it reads."""
    found = []
    for path in results_below(layout, layout.root):
        wrong, label, _ = _integrity(path, layout)
        if wrong and act:
            aside = set_aside(path, wrong, label, announce=False)
            found.append((path, f"{path}: {wrong}; moved it to {aside}; this run recomputes it"))
        elif wrong:
            found.append((path, f"{path}: {wrong}; a run sets it aside and recomputes it"))
    return found


def results_below(layout: Layout, directory: str) -> Iterable[str]:
    """The results below ``directory``: every path :meth:`Layout.parse` recognizes, a directory result whole;
    logs, benchmarks, seals, partial, temporary and set-aside files are not results."""
    if not os.path.isdir(directory):
        return
    for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
        path = f"{directory}/{entry.name}"
        if entry.name.startswith(".") or entry.name.endswith(_SKIPPED) or ".damaged" in entry.name \
                or ".unsealed" in entry.name or path in (layout.log(), layout.benchmark()):
            continue
        parsed = layout.parse(path)
        if entry.is_dir(follow_symlinks=False):
            if parsed is not None and parsed.kind in DIRECTORY_KINDS:
                yield path
            else:
                yield from results_below(layout, path)
        elif parsed is not None:
            yield path
