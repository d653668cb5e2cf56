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

from insta_rs.integrity import check_results
from insta_rs.layout import Layout

RUN_LOCK = Path(".snakemake", "insta-rs-run.lock")
_held: list[IO] = []  # the open lock file: the kernel releases the lock when the process ends, however it ends


def take_run_lock(lock_error: Callable[[], Exception], path: Path = RUN_LOCK) -> None:
    """Hold an exclusive lock on ``path`` (below the working directory) for the rest of this process, or raise
    ``lock_error()`` at once when another process holds it: a second run started at the same moment as another
    stops before it touches anything, with the message a run started later gets from Snakemake's own lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise lock_error() from None
    _held.append(handle)


def guard_execution(workflow, layout: Layout, report: Callable[[str], None]) -> None:
    """From the Snakefile's main process: when Snakemake executes the DAG, first take the working directory's run
    lock (a run or ``--touch``; ``--nolock`` skips it), then check the run's results (:func:`check_results`): a run
    sets aside the damaged and unsealed ones, so that it recomputes them; ``-n`` and ``--touch`` only report them.
    ``report`` prints each line."""
    from snakemake.exceptions import LockException

    execute = workflow.execute

    @functools.wraps(execute)
    def execute_guarded(*args, **kwargs):
        executor = kwargs["executor_plugin"].name
        if executor != "dryrun" and workflow.execution_settings.lock:
            take_run_lock(LockException)
        for line in check_results(layout, act=executor not in ("dryrun", "touch")):
            report(line)
        return execute(*args, **kwargs)

    workflow.execute = execute_guarded

