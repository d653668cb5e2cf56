"""Cascade certificate over the noise levels (multi-scale smoothing; Jeong & Shin, NeurIPS 2023).

The deployed classifier. Levels are ordered by **descending** sigma, ``s_1 > ... > s_K``; ``p_j(x, c)`` is
the probability that the base classifier answers ``c`` under ``N(x, s_j^2 I)``; ``p0 >= 1/2``. The cascade
``G(x)`` is the class ``c`` of the first level ``j`` with ``p_j(x, c) > p0`` (at most one class can exceed
``p0 >= 1/2``), and abstains if no level has one. Like Insta-RS it uses the largest sigma at which the model
is confident; unlike Insta-RS its choice of level can be certified.

The certificate (at x, from per-level bounds). Let ``k`` be the first level whose lower bound ``L_k`` for
its selected class exceeds ``p0`` (the *stopping level*), ``c`` that class. Then ``G(x') = c`` for every
``||x' - x|| < R`` with

    R   = min(R_k, min_{j<k} Rbar_j),
    R_k = s_k (PhiInv(L_k) - PhiInv(p0))              level k still gives c more than p0 at x',
    Rbar_j = s_j (PhiInv(p0) - PhiInv(U_j))           no level j < k gives another class more than p0 at x',

where ``U_j`` bounds ``max_{c' != c} p_j(x, c')``. Both follow from Cohen et al.'s Lipschitz property of
``PhiInv(p_j(., c))`` (constant ``1 / s_j``). At ``x'`` the cascade stops at level k with ``c`` or earlier,
and an earlier stop can only be with ``c``.

Abstention. The certificate abstains (``predict = -1``, radius 0) when no level's lower bound exceeds ``p0``,
or when ``R < 0``: some earlier level has an interval for a class other than ``c`` that reaches ``p0``
(straddles or exceeds it), so ``G(x)`` itself is not determined. An earlier level whose interval for ``c``
straddles ``p0`` is harmless (stopping there would give ``c`` too), so it does not force abstention.
``R = 0`` is a certified prediction without robustness, as in Cohen et al. at ``pA_lower = 1/2``.

Statistics (all bounds hold simultaneously with probability ``>= 1 - alpha``; Bonferroni, ``alpha/K`` per
level). Each level's class ``c_hat_j`` is chosen with N0 selection samples, independent of its N
estimation samples; ``nA_j`` is the estimation count of ``c_hat_j``.

- Only ``nA`` stored: per level one Clopper-Pearson bound ``L_j = CP_lower(nA_j; alpha/K)``;
  ``U_j = 1 - L_j`` if ``c_hat_j = c``, else unknown (1). With ``p0 = 1/2`` this makes every
  ``Rbar_j <= 0`` (a level that did not stop has ``L_j <= 1/2``): the cascade then certifies only at
  the largest sigma. A threshold ``p0 > 1/2`` leaves the window ``1 - p0 < L_j <= p0`` for passed levels.
- ``nB`` stored too (the largest estimation count among classes other than ``c_hat_j``): per level
  ``L_j`` at ``alpha/(2K)`` and upper bounds at ``alpha/(4K)`` for the two most probable classes. For any
  ``c``, ``max_{c' != c} p_j(c')`` is the probability of one of those two, ``t != c``, and the largest count
  among classes other than ``c`` is at least ``n_j(t)``, so ``U_j = CP_upper(m; alpha/(4K))`` with
  ``m = nB_j`` if ``c_hat_j = c`` (then also ``min(., 1 - L_j)``) and ``m = max(nA_j, nB_j)`` otherwise.

Under the sequential procedure every bound is the stopping round's at the per-level share of alpha
(:mod:`insta_rs.certification.sequential`: each round's level scaled), valid whatever round a level's certification stopped at;
the level certifications settle the cascade's reading (share ``1/(2K)``, thresholds shifted by ``PhiInv(p0)``), and
the reported radius is floored to the table radii in decision mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm

from insta_rs.analysis import RecordedCounts, aligned_levels
from insta_rs.certification.noise import ESTIMATION, SELECTION
from insta_rs.certification.procedures import CountBounds
from insta_rs.certification.records import ABSTAIN, read_certification, write_certification
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import p_upper_bound, pA_lower_bound
from insta_rs.collapse import guarded_levels
from insta_rs.levels import sigma_levels
from insta_rs.sound.deployed import AuditJob, DeployedPredict, fresh_seeds

UNKNOWN_CLASS = -1
UNKNOWN_COUNT = -1


@dataclass
class LevelBounds:
    """Per-level bounds, rows = levels in descending sigma, columns = examples."""

    sigma: np.ndarray        # [K]
    top_class: np.ndarray    # [K, B] class selected at level j (UNKNOWN_CLASS if not recorded)
    top_lower: np.ndarray    # [K, B] lower bound on p_j(top_class)
    other_upper: np.ndarray  # [K, B] upper bound on max_{c != top_class} p_j(c)
    any_upper: np.ndarray    # [K, B] upper bound on max_c p_j(c)


@dataclass
class CascadeResult:
    """The cascade certificate per example."""

    predict: np.ndarray  # [B] class, or ABSTAIN
    radius: np.ndarray   # [B] certified radius, 0 on abstain
    stop: np.ndarray     # [B] row of the stopping level in LevelBounds, -1 if no level stops


def cascade_from_bounds(bounds: LevelBounds, p0: float = 0.5) -> CascadeResult:
    """The certificate of the module docstring from per-level bounds (exact probabilities are valid bounds)."""
    if not 0.5 <= p0 < 1:
        raise ValueError(f"sound.cascade.p0 = {p0}: the threshold must lie in [0.5, 1) so at most one class exceeds it")
    sigma = np.asarray(bounds.sigma, dtype=float)
    if np.any(np.diff(sigma) >= 0):
        raise ValueError(f"cascade levels must be in strictly descending sigma, got {sigma.tolist()}")
    top_lower = np.asarray(bounds.top_lower, dtype=float)
    n_levels, n_examples = top_lower.shape
    columns = np.arange(n_examples)
    fires = top_lower > p0
    stops = fires.any(axis=0)
    stop = np.where(stops, fires.argmax(axis=0), 0)
    cls = np.asarray(bounds.top_class)[stop, columns]
    phi_p0 = norm.ppf(p0)
    radius_stop = sigma[stop] * (norm.ppf(top_lower[stop, columns]) - phi_p0)
    same = np.asarray(bounds.top_class) == cls[None, :]
    upper = np.where(same, bounds.other_upper, bounds.any_upper)
    with np.errstate(divide="ignore"):
        radius_pass = sigma[:, None] * (phi_p0 - norm.ppf(np.clip(upper, 0.0, 1.0)))
    earlier = np.arange(n_levels)[:, None] < stop[None, :]
    radius = np.minimum(radius_stop, np.where(earlier, radius_pass, np.inf).min(axis=0))
    certified = stops & (radius >= 0)
    return CascadeResult(predict=np.where(certified, cls, ABSTAIN), radius=np.where(certified, radius, 0.0),
                         stop=np.where(stops, stop, -1))


def bounds_from_counts(sigma: np.ndarray, top_class: np.ndarray, nA: np.ndarray, n: np.ndarray, alpha: float,
                       nB: np.ndarray | None = None, recorded: CountBounds | None = None) -> LevelBounds:
    """Clopper-Pearson bounds per level from estimation counts, ``alpha/K`` per level (module docstring).

    ``top_class, nA, nB`` are ``[K, B]``, ``n`` a number, ``[K]`` or ``[K, B]`` (the samples each count is of);
    ``top_class`` = UNKNOWN_CLASS where the selected class was not recorded (our files write -1 on abstain).
    ``recorded``: the bounds of the procedure that made the counts (sequential certifications); None: fixed N.
    """
    lower_bound = pA_lower_bound if recorded is None else recorded.lower
    upper_bound = p_upper_bound if recorded is None else recorded.upper
    nA = np.asarray(nA)
    n = np.asarray(n)
    n = np.broadcast_to(n[:, None] if n.ndim == 1 else n, nA.shape)
    per_level = alpha / len(sigma)
    if nB is None:
        lower = lower_bound(nA, n, per_level)
        other_upper = 1.0 - lower
        any_upper = np.ones_like(lower)
    else:
        nB = np.asarray(nB)
        if np.any(nA + nB > n):
            raise ValueError("cascade: nA + nB exceeds n for some example; nB must be the largest count "
                             "among the classes other than the selected one, from the same estimation samples")
        lower = lower_bound(nA, n, per_level / 2)
        other_upper = np.minimum(1.0 - lower, upper_bound(nB, n, per_level / 4))
        any_upper = upper_bound(np.maximum(nA, nB), n, per_level / 4)
    return LevelBounds(sigma=np.asarray(sigma, dtype=float), top_class=np.asarray(top_class), top_lower=lower,
                       other_upper=other_upper, any_upper=any_upper)


def cascade_frame(level_frames: Mapping[int, pd.DataFrame], p0: float = 0.5) -> pd.DataFrame:
    """The cascade certification of every example, from fixed-level certifications (our TSV columns).

    Each level's selected class is its ``c_hat`` column (our files keep it on abstain; files without it fall
    back to ``predict``, so an abstained level's class is unknown), and its runner-up count is its ``nB``
    column when every level has one (module docstring). Every level must be certified with one procedure, N and
    alpha. Returns a frame in the certification TSV format: ``sigma``, ``pA_lower``, ``c_hat``, ``nA``, ``nB``,
    ``n0A``, ``seed``, ``n_used`` of the stopping level (the smallest sigma when none stops; ``nB = -1`` when the
    level files lack it), ``pA_lower`` at the per-level alpha actually used, ``alpha`` = the family-wise alpha of
    the whole certificate, ``procedure`` = the levels', ``time`` = summed time of the levels consulted.
    """
    aligned = aligned_levels(level_frames)
    needed = ["sigma", "nA", "n", "alpha", "n0A", "n0", "seed"]
    for level, frame in aligned.items():
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"cascade: level {level} certification lacks columns {missing}; "
                             "certify with this package's certify step (published files lack counts)")
    frames = sorted(aligned.values(), key=lambda frame: -float(frame["sigma"].iloc[0]))
    recorded = [RecordedCounts.of(frame) for frame in frames]
    settings = {(counts.procedure, counts.alpha, int(frame["n"].iloc[0])) for counts, frame in zip(recorded, frames)}
    if len(settings) != 1:
        raise ValueError("cascade: the level certifications differ in procedure, alpha or N "
                         f"({sorted(map(str, settings))}); certify every level with one certify setting")
    procedure, alpha, _ = settings.pop()
    sigma = np.array([float(frame["sigma"].iloc[0]) for frame in frames])
    stack = {name: np.stack([frame[name].to_numpy() for frame in frames]) for name in
             ("predict", "nA", "n", "n0A", "n0", "seed", "time")}
    stack["n_used"] = np.stack([counts.n_used for counts in recorded])
    with_c_hat = all("c_hat" in frame.columns for frame in frames)
    selected = np.stack([frame["c_hat"].to_numpy() for frame in frames]) if with_c_hat else stack["predict"]
    with_nB = all("nB" in frame.columns for frame in frames)
    runner_up = np.stack([frame["nB"].to_numpy() for frame in frames]) if with_nB else None
    bounds = bounds_from_counts(sigma, selected, stack["nA"], stack["n_used"], alpha, runner_up, recorded[0].bounds)
    result = cascade_from_bounds(bounds, p0)
    columns = np.arange(len(frames[0]))
    row = np.where(result.stop >= 0, result.stop, len(frames) - 1)
    consulted = np.arange(len(frames))[:, None] <= row[None, :]
    label = frames[0]["label"].to_numpy()
    return pd.DataFrame({
        "idx": frames[0]["idx"].to_numpy(), "label": label, "predict": result.predict,
        "radius": procedure.reported(result.radius), "correct": (result.predict == label).astype(int),
        "time": np.where(consulted, stack["time"], 0.0).sum(axis=0), "sigma": sigma[row],
        "pA_lower": bounds.top_lower[row, columns], "c_hat": selected[row, columns], "nA": stack["nA"][row, columns],
        "nB": runner_up[row, columns] if with_nB else np.full(len(columns), UNKNOWN_COUNT),
        "n0A": stack["n0A"][row, columns], "n0": stack["n0"][row, columns], "n": stack["n"][row, columns],
        "alpha": alpha, "seed": stack["seed"][row, columns], "n_used": stack["n_used"][row, columns],
        "procedure": procedure.label,
    })


def cascade_from_level_files(level_paths: Sequence[str | os.PathLike], out_path: str | os.PathLike,
                             p0: float = 0.5) -> pd.DataFrame:
    """Read ``level<k>.tsv`` files, compute the cascade certificate, write it to ``out_path``."""
    frames = {position: read_certification(path) for position, path in enumerate(level_paths, start=1)}
    frame = cascade_frame(frames, p0)
    write_certification(frame, out_path)
    return frame


def certificate(inputs: Mapping, settings: Mapping, tsv: str) -> str:
    """The sound mode's certificate (:mod:`insta_rs.sound.modes`): the cascade at ``settings["p0"]`` over the level
    certifications ``inputs["levels"]`` (levels 1..K) that the collapse guard ``inputs["guard"]`` keeps."""
    excluded = guarded_levels(inputs["guard"])
    levels = [path for level, path in enumerate(inputs["levels"], start=1) if level not in excluded]
    frame = cascade_from_level_files(levels, tsv, settings["p0"])
    return (f"cascade (p0 = {settings['p0']:g}) over {len(levels)} levels (collapse guard: {excluded or 'none'} left "
            f"out): {len(frame)} examples, {int((frame['predict'] >= 0).sum())} certified, "
            f"ACR {float((frame['radius'] * frame['correct']).mean()):.4f}")


def cascade_predictor(smoother: Smoother, sigmas: np.ndarray, n0: int, n: int, alpha: float, p0: float,
                      seed: int) -> DeployedPredict:
    """The cascade's sample version at the queried input: per level (descending sigma) N0 selection and N
    estimation samples, then :func:`cascade_from_bounds` with the runner-up counts."""
    descending = np.sort(np.asarray(sigmas, dtype=float))[::-1]
    seeds = fresh_seeds(seed)

    def predict(x: torch.Tensor) -> np.ndarray:
        call_seed = next(seeds)
        idx = np.arange(len(x))
        top_class, nA, nB = [], [], []
        for sigma in descending:
            sigma_rows = np.full(len(x), sigma)
            selected = smoother.sample_counts(x, sigma_rows, idx, n0, call_seed, SELECTION).argmax(axis=1)
            counts = smoother.sample_counts(x, sigma_rows, idx, n, call_seed, ESTIMATION)
            rows = np.arange(len(x))
            top_class.append(selected)
            nA.append(counts[rows, selected])
            counts[rows, selected] = -1
            nB.append(counts.max(axis=1))
        bounds = bounds_from_counts(descending, np.stack(top_class), np.stack(nA), np.full(len(descending), n),
                                    alpha, np.stack(nB))
        return cascade_from_bounds(bounds, p0).predict

    return predict


def deployed(job: AuditJob) -> DeployedPredict:
    """The cascade as deployed, over the levels the collapse guard keeps."""
    noise = job.params.noise
    levels = [level for level in range(1, noise["n_levels"] + 1) if level not in job.excluded]
    return cascade_predictor(job.smoother, sigma_levels(noise["sigma0"], noise["n_levels"])[np.array(levels) - 1],
                             job.params.certify["n0"], job.n, job.alpha, job.params.cascade["p0"], job.seed)
