"""What the Snakefile does once Snakemake is asked to run the workflow, before it builds the DAG: one run at a time
in a working directory, and the run's results folder checked so that the same run recomputes what is damaged.

Snakemake parses the Snakefile before it knows what it was asked to do (a run, ``-n``, ``--touch``, ``--report``,
``--unlock``, ``--summary``, ``--lint``, ...); only an execution of the DAG (a run, ``-n`` or ``--touch``) goes
through ``Workflow.execute``, which :func:`guard_execution` wraps.
"""

from __future__ import annotations

import fcntl
import functools
from pathlib import Path
from typing import IO, Callable

from insta_rs.layout import Layout
from insta_rs.workflow.integrity import check_results

RUN_LOCK = Path(".snakemake", "insta-rs-run.lock")
_held: list[IO] = []  # the open lock file: the kernel releases the lock when the process ends, however it ends


def take_run_lock(path: Path = RUN_LOCK) -> bool:
    """Hold an exclusive lock on ``path`` (below the working directory) for the rest of this process; False at once
    when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _held.append(handle)
    return True


def guard_execution(workflow, layout: Layout, report: Callable[[str], None]) -> None:
    """From the Snakefile's main process: when Snakemake executes the DAG, first take the working directory's run
    lock (a run or ``--touch``; ``--nolock`` skips it; a second run stops there at once with Snakemake's lock
    message), then check the run's results (:func:`check_results`, each finding printed with ``report``). A run
    sets aside the damaged and unsealed ones and recomputes them and what was computed from them (they join
    ``--forcerun`` when a rule makes them); ``-n`` plans the same and only reports; ``--touch`` only reports."""
    from snakemake.exceptions import LockException, print_exception

    execute = workflow.execute

    @functools.wraps(execute)
    def execute_guarded(*args, **kwargs):
        executor = kwargs["executor_plugin"].name
        if executor != "dryrun" and workflow.execution_settings.lock and not take_run_lock():
            # another run holds the directory (started at the same moment, or earlier): stop before touching
            # anything, with the message Snakemake's own lock gives a run started later
            print_exception(LockException())
            raise SystemExit(1)
        found = check_results(layout, act=executor not in ("dryrun", "touch"))
        for _, line in found:
            report(line)
        remade = [path for path, _ in found if any(rule.is_producer(path) for rule in workflow.rules)]
        if remade and executor != "touch":
            workflow.dag_settings.forcerun = {*workflow.dag_settings.forcerun, *remade}
        return execute(*args, **kwargs)

    workflow.execute = execute_guarded
