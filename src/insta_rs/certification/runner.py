"""Certify a test set to a TSV, resumably: rows are appended to ``<out>.partial`` as chunks finish,
a re-run keeps every valid row and certifies only what is missing, and the final file appears
atomically, in test-subset order, when every example is done.

A row is kept only if it is valid (types, ranges, radius consistent with sigma and pA_lower:
:func:`insta_rs.certification.records.row_problem`), belongs to the requested examples, is not a duplicate, and was made with the
same sigma, N0, N, alpha, seed and procedure (:mod:`insta_rs.certification.procedures`, its settings included); a truncated
last line, or one that is not text, is dropped. A partial file that is not ours at all is moved aside, never
deleted. The final file is checked row by row before it is renamed into place.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from insta_rs.certification.procedures import Cohen, Procedure
from insta_rs.certification.records import (
    CERTIFY_COLUMNS,
    CERTIFY_HEADER,
    format_certify_row,
    row_problem,
    write_certification_rows,
)
from insta_rs.certification.smoothing import Smoother
from insta_rs.files import atomic_write, set_aside
from insta_rs.runtime.runlog import Progress

logger = logging.getLogger(__name__)


def _valid_rows(partial: Path, expected: dict[int, dict], num_classes: int, cohen_radius: bool) -> dict[int, str]:
    """Rows of a partial file that are valid (:func:`insta_rs.certification.records.row_problem`), not duplicated, and match
    ``expected[idx]`` (sigma, n0, n, alpha, seed, procedure); the others are dropped with a warning naming the
    file and lines. A file whose header is not ours is set aside. Read as bytes: a line that is not text (a
    damaged disk block, a crash mid-write) is one more invalid row."""
    if not partial.exists():
        return {}
    lines = partial.read_bytes().split(b"\n")
    if lines[0] + b"\n" != CERTIFY_HEADER.encode():
        set_aside(partial, "its header is not a certification header")
        return {}
    kept: dict[int, str] = {}
    dropped: list[str] = []
    for number, raw in enumerate(lines[1:-1], start=2):  # the last element is b"" or a line cut short
        try:
            fields = raw.decode("utf-8").split("\t")
        except UnicodeDecodeError:
            dropped.append(f"line {number}: not text")
            continue
        problem = row_problem(fields, num_classes, cohen_radius)
        if problem is None:
            row = dict(zip(CERTIFY_COLUMNS, fields))
            want = expected.get(int(row["idx"]))
            if want is None or int(row["idx"]) in kept:
                problem = "not an example of this job, or a duplicate"
            elif row["procedure"] != want["procedure"] or not all(
                    abs(float(row[key]) - want[key]) <= 5e-7 for key in ("sigma", "alpha")) or not all(
                    int(row[key]) == want[key] for key in ("n0", "n", "seed")):
                problem = "made with other settings (sigma, N0, N, alpha, seed or procedure)"
        if problem is None:
            kept[int(row["idx"])] = "\t".join(fields) + "\n"
        else:
            dropped.append(f"line {number}: {problem}")
    if lines[-1]:
        dropped.append(f"line {len(lines)}: cut short")
    if dropped:
        logger.warning("%s: dropped %d rows (%s%s); they are certified again", partial, len(dropped),
                       "; ".join(dropped[:5]), "; ..." if len(dropped) > 5 else "")
    return kept


@dataclass(frozen=True)
class CertifySettings:
    """How a certification is made: CERTIFY's ``n0`` selection and ``n`` estimation samples (the cap of a sequential
    ``procedure``), its ``alpha``, the noise ``seed``, and whether rows record the time per example."""

    n0: int
    n: int
    alpha: float
    seed: int
    procedure: Procedure = Cohen()
    record_time: bool = True


def certify_to_tsv(smoother: Smoother, x: torch.Tensor, labels: np.ndarray, idx: np.ndarray,
                   sigma: np.ndarray, out_path: str | os.PathLike, settings: CertifySettings,
                   examples_per_chunk: int) -> None:
    """Certify every example ``i`` at ``sigma[i]`` with ``settings.procedure`` (N fixed, or ``n`` as the cap of a
    sequential one) and write the Cohen-compatible TSV ``out_path``."""
    n0, n, alpha, seed = settings.n0, settings.n, settings.alpha, settings.seed
    procedure, record_time = settings.procedure, settings.record_time
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    expected = {int(i): {"sigma": float(s), "n0": n0, "n": n, "alpha": alpha, "seed": seed,
                         "procedure": procedure.label}
                for i, s in zip(idx, sigma)}
    done = _valid_rows(partial, expected, smoother.num_classes, procedure.cohen_radius)
    with atomic_write(partial) as handle:  # rewrite with only the valid rows, then append
        handle.write(CERTIFY_HEADER + "".join(done.values()))
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
    write_certification_rows(out_path, [done[int(i)] for i in idx], smoother.num_classes, procedure.cohen_radius)
    partial.unlink()

