"""The certification modes the audit knows, and the result files (under ``results/<run>/``) that hold them.

``insta_rs``      each example at the sigma Algorithm 1 chose for it (the paper's per-instance radius)
``cascade``       the cascade certificate over the levels (:mod:`.cascade`)
``semi_elastic``  the kNN sigma with semi-elastic radii (:mod:`.knn_sigma`, :mod:`.semi_elastic`)
``level<k>``      one fixed level, ``sigma_k = sqrt(k) sigma0`` (Cohen et al.; the audit's control)

Kept free of heavy imports: the workflow's rule files call it while parsing.
"""

from __future__ import annotations

import re

SOUND_MODES = ("cascade", "semi_elastic")
_LEVEL = re.compile(r"^level(\d+)$")


def certification_path(results_dir: str, model: str, mode: str) -> str:
    """The certification TSV of ``mode`` for ``model``."""
    if mode == "insta_rs":
        return f"{results_dir}/certify/{model}/search_fgss.tsv"
    if mode in SOUND_MODES or _LEVEL.match(mode):
        return f"{results_dir}/certify/{model}/{mode}.tsv"
    raise ValueError(f"sound.audit.modes: unknown mode {mode!r}; use insta_rs, cascade, semi_elastic or level<k>")


def knn_meta_path(results_dir: str, model: str) -> str:
    """Metadata of the kNN sigma (``k r sigma_b m dim``) that the semi-elastic mode deploys."""
    return f"{results_dir}/search/{model}/knn.json"


def level_of(mode: str) -> int | None:
    """``k`` of a ``level<k>`` mode, else None."""
    match = _LEVEL.match(mode)
    return int(match.group(1)) if match else None
