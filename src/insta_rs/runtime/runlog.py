"""Logging for workflow steps: every script logs to its rule's ``log:`` file and to stderr."""

from __future__ import annotations

import logging
import sys
import time


def setup_step_logging(log_path: str | None, threads: int | None = None) -> logging.Logger:
    """Send the root logger to ``log_path`` (and stderr), redirect stderr there, set torch threads."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_path:
        log_file = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the step
        sys.stderr = log_file
        handlers.append(logging.StreamHandler(log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    if threads:
        import torch
        torch.set_num_threads(threads)
    return logging.getLogger("insta_rs.step")


class Progress:
    """Counts finished work items and logs rate and ETA at most every ``every_s`` seconds, and once all are done
    (unless ``final`` is false: a caller that logs its own summary).

    ``at_most``: ``total`` is an upper bound (a search that may stop early), and so is the ETA. Items recovered
    from an interrupted run (:meth:`recovered`) count as done but not in the rate: the rate and ETA are those of
    the work done now."""

    def __init__(self, logger: logging.Logger, total: int, what: str, every_s: float = 10.0, at_most: bool = False,
                 final: bool = True):
        self.logger, self.total, self.what, self.every_s = logger, total, what, every_s
        self.at_most, self.final = at_most, final
        self.done = self.recovered_items = 0
        self.start = self.last = time.monotonic()

    def recovered(self, n_items: int) -> None:
        """``n_items`` were done before this run (resumed from a partial file)."""
        self.done += n_items
        self.recovered_items += n_items

    def update(self, n_done: int = 1) -> None:
        self.done += n_done
        now = time.monotonic()
        if now - self.last >= self.every_s or (self.final and self.done >= self.total):
            self.last = now
            rate = (self.done - self.recovered_items) / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            resumed = f", {self.recovered_items} recovered" if self.recovered_items else ""
            of, bound = (" of at most ", " at most") if self.at_most else ("/", "")
            self.logger.info("%d%s%d %s (%.2f/s%s, ETA%s %.0fs)", self.done, of, self.total, self.what, rate, resumed,
                             bound, eta)
