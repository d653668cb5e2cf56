"""The registry of two-stage training methods (``train.method``): a stage I with per-example levels, then stage II
fine-tuning with the levels it assigned. Each entry carries what the workflow, the training and the tables ask of
the method; adding one: its stage-I level policy (:mod:`.loop`), its entry here, its test. Imports nothing that
computes: the workflow's rule files and the tables read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from insta_rs.layout import Layout


@dataclass(frozen=True)
class TwoStageMethod:
    """A per-example-sigma method: a stage I, then stage II fine-tuning with the levels it assigned. It carries
    what it does, the kind of level policy of its stage I (:class:`insta_rs.training.loop.LevelPolicy`), how it
    assigns the training sigmas (the training-speed table's words) and how many levels of each example that
    evaluates per update given ``n_levels``, the workflow's rules that train it (``stage1``, ``assign``: the one
    that writes its timing, ``stage2``), and the file of its per-example training levels ``(layout, model)``."""

    summary: str
    stage1_policy: str
    assignment: str
    levels_per_update: Callable[[int], int]
    rules: dict[str, str]
    levels_file: Callable[[Layout, str], str]


TWO_STAGE_METHODS: dict[str, TwoStageMethod] = {
    "insta": TwoStageMethod("Insta-RS Train (Algorithm 2): per-example levels updated every L epochs in stage I, "
                            "fine-tuned in stage II", "adaptive", "Alg. 2 lazy updates (stage I)",
                            lambda n_levels: 2,  # levels l and l + 1 at each update epoch
                            {"stage1": "insta_stage1", "assign": "insta_stage1", "stage2": "insta_stage2"},
                            lambda layout, model: layout.training_levels(model)),
    "pfat": TwoStageMethod("PFAT: random levels in stage 1, a grid assignment of levels, fine-tuning in stage 2",
                           "random", "grid search after stage 1", lambda n_levels: n_levels,
                           {"stage1": "pfat_stage1", "assign": "pfat_assign", "stage2": "pfat_stage2"},
                           lambda layout, model: layout.model_file(model, "assigned_levels.tsv")),
}
