"""The classifier a user of each audited mode queries: the audit's predictors, built from an :class:`AuditJob`.

The registry :data:`insta_rs.sound.modes.AUDIT_MODES` names for each mode its constructor here; ``level<k>`` is
``g_sigma_k`` with Cohen et al.'s PREDICT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from insta_rs.certification.smoothing import Smoother
from insta_rs.layout import Layout
from insta_rs.levels import level_sigma, sigma_levels
from insta_rs.sound import audit
from insta_rs.sound.dual import candidate_sigmas
from insta_rs.sound.knn_sigma import training_tensors
from insta_rs.sound.modes import audited_mode, level_of


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


def insta_rs(job: AuditJob) -> audit.DeployedPredict:
    noise, search = job.params.noise, job.params.search
    return audit.insta_rs_predictor(job.smoother, noise["sigma0"], noise["n_levels"], search, search["p_max"],
                                    job.n, job.alpha, job.seed)


def cascade(job: AuditJob) -> audit.DeployedPredict:
    noise = job.params.noise
    levels = [level for level in range(1, noise["n_levels"] + 1) if level not in job.excluded]
    return audit.cascade_predictor(job.smoother, sigma_levels(noise["sigma0"], noise["n_levels"])[np.array(levels) - 1],
                                   job.params.certify["n0"], job.n, job.alpha, job.params.cascade["p0"], job.seed)


def semi_elastic(job: AuditJob) -> audit.DeployedPredict:
    meta = json.loads(Path(job.layout.knn_meta(job.model)).read_text())
    train_x = training_tensors(job.dataset, job.params.semi_elastic["max_train"], meta["seed"])
    return audit.semi_elastic_predictor(job.smoother, train_x, meta, job.n, job.alpha, job.seed)


def dual(job: AuditJob) -> audit.DeployedPredict:
    """Dual RS with the selector at its share of alpha (``sound.dual.alpha_share``), the classifier at the rest."""
    settings = job.params.dual
    alpha_sel = settings["alpha_share"] * job.alpha
    selector = audit.SmoothedSelector(job.smoother_of(job.layout.model_file(job.model, "selector.pt")),
                                      settings["selector"]["train"]["sigma"], alpha_sel, job.seed + 1_000_000)
    return audit.dual_predictor(job.smoother, selector,
                                candidate_sigmas(settings["levels"], job.params.noise["sigma0"]), job.n,
                                job.alpha - alpha_sel, job.seed)


def fixed_level(job: AuditJob) -> audit.DeployedPredict:
    sigma = level_sigma(level_of(job.mode), job.params.noise["sigma0"])
    return audit.fixed_sigma_predictor(job.smoother, sigma, job.n, job.alpha, job.seed)


def deployed_classifier(job: AuditJob) -> audit.DeployedPredict:
    """The classifier a user of ``job.mode`` queries: this module's function that the mode's entry names."""
    return globals()[audited_mode(job.mode).deployed](job)
