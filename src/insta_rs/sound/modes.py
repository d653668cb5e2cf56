"""The certification modes the audit knows, and the result files (under ``results/<run>/``) that hold them.

``insta_rs``      each example at the sigma Algorithm 1 chose for it (the paper's per-instance radius)
``cascade``       the cascade certificate over the levels (:mod:`.cascade`)
``semi_elastic``  the kNN sigma with semi-elastic radii (:mod:`.knn_sigma`, :mod:`.semi_elastic`)
``dual``          Dual RS: a certified sigma selector, radius min(R_sel, R_cls) (:mod:`.dual`)
``level<k>``      one fixed level, ``sigma_k = sqrt(k) sigma0`` (Cohen et al.; the audit's control)

Kept free of heavy imports: the workflow's rule files call it while parsing.
"""

from __future__ import annotations

import re

SOUND_MODES = ("cascade", "semi_elastic", "dual")
_LEVEL = re.compile(r"^level(\d+)$")


def certification_path(results_dir: str, model: str, mode: str) -> str:
    """The certification TSV of ``mode`` for ``model``."""
    if mode == "insta_rs":
        return f"{results_dir}/certify/{model}/search_fgss.tsv"
    if mode in SOUND_MODES or _LEVEL.match(mode):
        return f"{results_dir}/certify/{model}/{mode}.tsv"
    raise ValueError(f"sound.audit.modes: unknown mode {mode!r}; use insta_rs, cascade, semi_elastic, dual or level<k>")


def knn_meta_path(results_dir: str, model: str) -> str:
    """Metadata of the kNN sigma (``k r sigma_b m dim``) that the semi-elastic mode deploys."""
    return f"{results_dir}/search/{model}/knn.json"


def dual_paths(results_dir: str, model: str) -> dict[str, str]:
    """The files of Dual RS for ``model``, in the order the steps make them: the selector's labels on the training
    split, its checkpoint and training history, its certification on the test subset, the per-example level it
    assigns (``idx label level sigma selector_predict``), the classifier's certification at that level, and the
    Dual RS certification (``certification_path(results_dir, model, "dual")``)."""
    return {"labels": f"{results_dir}/search/{model}/dual_labels.tsv",
            "selector": f"{results_dir}/models/{model}/dual_selector.pt",
            "selector_history": f"{results_dir}/models/{model}/dual_selector_history.tsv",
            "selector_certification": f"{results_dir}/certify/{model}/dual_selector.tsv",
            "assignment": f"{results_dir}/search/{model}/dual.tsv",
            "classifier_certification": f"{results_dir}/certify/{model}/search_dual.tsv",
            "certification": certification_path(results_dir, model, "dual")}


def level_of(mode: str) -> int | None:
    """``k`` of a ``level<k>`` mode, else None."""
    match = _LEVEL.match(mode)
    return int(match.group(1)) if match else None
