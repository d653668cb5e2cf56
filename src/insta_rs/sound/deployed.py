"""The classifier a user of each audited mode queries (the audit's predictors), and what it is built from.

A deployed predictor maps a batch of inputs to answers (class or ABSTAIN) with fresh noise at every call. Each
audited mode's entry in :data:`insta_rs.sound.modes.AUDIT_MODES` names its constructor: a function of an
:class:`AuditJob`, in the sound mode's own module or here (the paper's Insta-RS, and ``level<k>``: ``g_sigma_k``
with Cohen et al.'s PREDICT).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from insta_rs.certification.smoothing import Smoother
from insta_rs.layout import Layout
from insta_rs.levels import level_sigma, sigma_levels
from insta_rs.search import algorithms as search
from insta_rs.sound.modes import audited_mode, level_of

DeployedPredict = Callable[[torch.Tensor], np.ndarray]


@dataclass(frozen=True)
class AuditJob:
    """What the deployed classifier of ``mode`` for ``model`` is built from: the model's smoother, the audit
    rule's params (``audit``, ``noise``, ``certify``, ``search``, ``cascade``, ``semi_elastic``, ``dual``,
    ``precision``), the data set, the run's files, the levels the collapse guard leaves out, the first seed, and
    ``smoother_of(checkpoint)``, a smoother like the model's over another checkpoint."""

    smoother: Smoother
    smoother_of: Callable[[str], Smoother]
    params: Mapping
    dataset: dict
    layout: Layout
    model: str
    mode: str
    excluded: Sequence[int]
    seed: int

    @property
    def n(self) -> int:
        return self.params.audit["n_predict"]

    @property
    def alpha(self) -> float:
        return self.params.certify["alpha"]


def fresh_seeds(seed: int) -> itertools.count:
    """Fresh noise for every call of a deployed predictor: call ``i`` uses seed ``seed + i``."""
    return itertools.count(seed)


def fixed_sigma_predictor(smoother: Smoother, sigma: float, n: int, alpha: float, seed: int) -> DeployedPredict:
    """``g_sigma`` with Cohen et al.'s PREDICT."""
    seeds = fresh_seeds(seed)
    return lambda x: smoother.predict(x, np.full(len(x), sigma), np.arange(len(x)), n, alpha, next(seeds))


def insta_rs_predictor(smoother: Smoother, sigma0: float, n_levels: int, search_cfg: dict, p_max: float, n: int,
                       alpha: float, seed: int) -> DeployedPredict:
    """Insta-RS as deployed: Algorithm 1 (FGSS) at the queried input, then PREDICT at the chosen sigma."""
    sigmas = sigma_levels(sigma0, n_levels)
    seeds = fresh_seeds(seed)
    starts = [tuple(start) for start in search_cfg["starts"]]

    def predict(x: torch.Tensor) -> np.ndarray:
        call_seed, idx = next(seeds), np.arange(len(x))
        criterion = search.instance_criterion(smoother, x, idx, sigma0, n_levels,
                                              search.RadiusEstimate(search_cfg["m"], p_max, call_seed))
        level = search.fgss(criterion, len(x), n_levels, starts).level
        return smoother.predict(x, sigmas[level - 1], idx, n, alpha, call_seed)

    return predict


def insta_rs(job: AuditJob) -> DeployedPredict:
    noise, search_cfg = job.params.noise, job.params.search
    return insta_rs_predictor(job.smoother, noise["sigma0"], noise["n_levels"], search_cfg, search_cfg["p_max"],
                              job.n, job.alpha, job.seed)


def fixed_level(job: AuditJob) -> DeployedPredict:
    sigma = level_sigma(level_of(job.mode), job.params.noise["sigma0"])
    return fixed_sigma_predictor(job.smoother, sigma, job.n, job.alpha, job.seed)


def deployed_classifier(job: AuditJob) -> DeployedPredict:
    """The classifier a user of ``job.mode`` queries: the constructor that the mode's entry names."""
    return audited_mode(job.mode).deployed()(job)
