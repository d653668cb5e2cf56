"""Certify a test set to a TSV, resumably: rows are appended to ``<out>.partial`` as chunks finish,
a re-run keeps every valid row and certifies only what is missing, and the final file appears
atomically, in test-subset order, when every example is done.

A row is kept only if it parses, belongs to the requested examples, is not a duplicate, and was
made with the same sigma, N0, N, alpha, seed and procedure (:mod:`insta_rs.procedures`, its settings
included); a truncated last line (no newline) is dropped.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from .io import CERTIFY_COLUMNS, atomic_write, format_certify_row
from .procedures import Cohen, Procedure
from .runlog import Progress
from .smoothing import Smoother

logger = logging.getLogger(__name__)
HEADER = "\t".join(CERTIFY_COLUMNS) + "\n"


def _valid_rows(partial: Path, expected: dict[int, dict]) -> dict[int, str]:
    """Rows of a partial file that match ``expected[idx]`` (sigma, n0, n, alpha, seed, procedure); others
    are dropped."""
    if not partial.exists():
        return {}
    text = partial.read_text()
    if not text.startswith(HEADER):
        logger.warning("%s has an unexpected header; starting it again", partial)
        return {}
    lines = text[len(HEADER):].split("\n")
    kept: dict[int, str] = {}
    for line in lines[:-1]:  # the last element is "" or a line cut short by an interruption
        fields = line.split("\t")
        if len(fields) != len(CERTIFY_COLUMNS):
            continue
        row = dict(zip(CERTIFY_COLUMNS, fields))
        try:
            idx = int(row["idx"])
            want = expected.get(idx)
            same = want is not None and idx not in kept and row["procedure"] == want["procedure"] and all(
                np.isclose(float(row[key]), want[key], rtol=0, atol=5e-7) for key in ("sigma", "alpha")
            ) and all(int(row[key]) == want[key] for key in ("n0", "n", "seed"))
        except ValueError:
            continue
        if same:
            kept[idx] = line + "\n"
    dropped = len([line for line in lines if line]) - len(kept)
    if dropped:
        logger.warning("%s: dropped %d invalid, stale or duplicate rows", partial, dropped)
    return kept


def certify_to_tsv(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray,
                   sigma: np.ndarray, out_path: str | os.PathLike, n0: int, n: int, alpha: float,
                   seed: int, examples_per_chunk: int, record_time: bool = True,
                   procedure: Procedure = Cohen()) -> None:
    """Certify every example ``i`` at ``sigma[i]`` with ``procedure`` (N fixed, or ``n`` as the cap of a
    sequential one) and write the Cohen-compatible TSV ``out_path``."""
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    expected = {int(i): {"sigma": float(s), "n0": n0, "n": n, "alpha": alpha, "seed": seed,
                         "procedure": procedure.label}
                for i, s in zip(idx, sigma)}
    done = _valid_rows(partial, expected)
    with atomic_write(partial) as handle:  # rewrite with only the valid rows, then append
        handle.write(HEADER + "".join(done.values()))
    todo = np.array([pos for pos, i in enumerate(idx) if int(i) not in done], dtype=int)
    if len(done):
        logger.info("resuming %s: %d of %d examples already certified", out_path, len(done), len(idx))
    progress = Progress(logger, len(idx), "examples certified")
    progress.recovered(len(done))
    with open(partial, "a") as handle:
        for start in range(0, len(todo), examples_per_chunk):
            chunk = todo[start:start + examples_per_chunk]
            began = time.perf_counter()
            result = procedure.certify(smoother, x[chunk], sigma[chunk], idx[chunk], n0, n, alpha, seed)
            seconds = (time.perf_counter() - began) / len(chunk) if record_time else 0.0
            for k, pos in enumerate(chunk):
                row = {"idx": int(idx[pos]), "label": int(labels[pos]), "predict": int(result.predict[k]),
                       "radius": float(result.radius[k]), "correct": int(result.predict[k] == labels[pos]),
                       "time": seconds, "sigma": float(sigma[pos]), "pA_lower": float(result.pA_lower[k]),
                       "c_hat": int(result.c_hat[k]), "nA": int(result.nA[k]), "nB": int(result.nB[k]),
                       "n0A": int(result.n0A[k]), "n0": n0, "n": n,
                       "alpha": alpha, "seed": seed, "n_used": int(result.n_used[k]),
                       "procedure": procedure.label}
                line = format_certify_row(row)
                done[row["idx"]] = line
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
            progress.update(len(chunk))
    with atomic_write(out_path) as handle:
        handle.write(HEADER + "".join(done[int(i)] for i in idx))
    partial.unlink()

