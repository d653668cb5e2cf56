"""Training configuration: one stage of parameter updates (a method and its optimizer schedule).

A stage dict (``models.<name>.train`` of a fixed-sigma baseline, or ``train.stage1`` / ``train.stage2``
of an Insta-RS or PFAT model) holds, named after the papers:

- ``method``: a parameter-update method of :data:`insta_rs.training.methods.METHODS`, and that method's own
  options (e.g. SmoothAdv's ``eps``, ``m_train``, ``steps``, ``warmup``; MACER's ``k``, ``lambda``, ``gamma``,
  ``beta``), defaults and ranges from its registry entry;
- optimizer: ``epochs``, ``batch_size``, ``lr``, ``milestones`` (MultiStepLR, x0.1 at each),
  ``momentum`` (0.9), ``weight_decay`` (1e-4), ``seed`` (0);
- by role: ``sigma``, the constant noise level of a fixed-sigma baseline (only there); Insta-RS stage I
  (Algorithm 2): ``L`` (10, update every L epochs), ``m2`` (8), ``p_max`` (0.99993); PFAT stage 1 uses ``m2``
  and ``p_max`` for its grid assignment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from insta_rs.training.methods import METHODS

ROLES = ("fixed", "insta_stage1", "pfat_stage1", "stage2")
_COMMON = {"method", "epochs", "batch_size", "lr", "milestones", "momentum", "weight_decay", "seed"}
_ROLE_KEYS = {"fixed": {"sigma"}, "insta_stage1": {"L", "m2", "p_max"}, "pfat_stage1": {"m2", "p_max"},
              "stage2": set()}


@dataclass(frozen=True)
class StageConfig:
    """One training stage; ``options`` are the method's own (every one present, defaults filled in)."""

    method: str
    epochs: int
    batch_size: int
    lr: float
    milestones: tuple[int, ...] = ()
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    sigma: float | None = None
    L: int = 10
    m2: int = 8
    p_max: float = 0.99993
    options: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict (JSON-able) of every field, defaults included."""
        return dataclasses.asdict(self)


def parse_stage(cfg: dict, role: str, where: str) -> StageConfig:
    """Validate a stage dict for ``role`` (one of :data:`ROLES`); ``where`` names the entry in errors."""
    if role not in ROLES:
        raise ValueError(f"unknown training role {role!r}; use one of {ROLES}")
    if not isinstance(cfg, dict):
        raise ValueError(f"{where} must be a mapping of training settings, got {cfg!r}")
    method = cfg.get("method")
    if method not in METHODS:
        raise ValueError(f"{where}.method = {method!r}: use one of {', '.join(METHODS)}")
    options = METHODS[method].options
    allowed = _COMMON | set(options) | _ROLE_KEYS[role]
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: not a setting of method {method} here; allowed: "
                         f"{', '.join(sorted(allowed))}")
    missing = sorted({"epochs", "batch_size", "lr"} - set(cfg))
    if role == "fixed" and "sigma" not in cfg:
        missing.append("sigma")
    if missing:
        raise ValueError(f"{where}.{missing[0]} is required (missing: {', '.join(missing)})")
    values = {key: cfg[key] for key in cfg if key not in options and key != "milestones"}
    values["milestones"] = tuple(int(m) for m in cfg.get("milestones", ()))
    values["options"] = {name: option.check(cfg.get(name, option.default), f"{where}.{name}")
                         for name, option in options.items()}
    stage = StageConfig(**values)
    _check_ranges(stage, where)
    return stage


def _check_ranges(stage: StageConfig, where: str) -> None:
    """Positive counts and rates, probabilities inside (0.5, 1)."""
    for name in ("epochs", "batch_size", "L", "m2"):
        value = getattr(stage, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{where}.{name} = {value!r} must be a positive integer")
    if stage.lr <= 0 or (stage.sigma is not None and stage.sigma <= 0):
        raise ValueError(f"{where}: lr and sigma must be > 0 (lr={stage.lr}, sigma={stage.sigma})")
    if not 0.5 < stage.p_max < 1:
        raise ValueError(f"{where}.p_max = {stage.p_max} must lie in (0.5, 1)")
    if list(stage.milestones) != sorted(stage.milestones):
        raise ValueError(f"{where}.milestones = {list(stage.milestones)} must be increasing")
