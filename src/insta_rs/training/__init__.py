"""Training of base classifiers for randomized smoothing, each example noised with its own sigma.

- :mod:`~insta_rs.training.gaussian`, :mod:`~insta_rs.training.smoothadv`, :mod:`~insta_rs.training.macer`:
  the parameter-update methods (Cohen et al., Salman et al., Zhai et al.);
- :mod:`~insta_rs.training.sigma_update`: Algorithm 2 stage I, the per-example level update;
- :mod:`~insta_rs.training.pfat`: the PFAT baseline's random levels and grid assignment;
- :mod:`~insta_rs.training.loop`: the resumable loop that runs every stage;
- :mod:`~insta_rs.training.config`, :mod:`~insta_rs.training.levels`, :mod:`~insta_rs.training.soft`: settings,
  level bookkeeping and the soft smoothed classifier.
"""

from insta_rs.training.config import StageConfig, parse_stage
from insta_rs.training.gaussian import gaussian_loss
from insta_rs.training.levels import level_histogram, levels_to_sigma, read_levels_tsv, write_levels_tsv
from insta_rs.training.loop import LevelPolicy, build_seeded_model, method_loss, train_stage
from insta_rs.training.macer import macer_loss, macer_loss_from_logits
from insta_rs.training.pfat import assign_levels, grid_levels, random_levels
from insta_rs.training.sigma_update import next_levels, update_levels
from insta_rs.training.smoothadv import smoothadv_attack, smoothadv_loss

__all__ = [
    "LevelPolicy", "StageConfig", "assign_levels", "build_seeded_model", "gaussian_loss", "grid_levels",
    "level_histogram", "levels_to_sigma", "macer_loss", "macer_loss_from_logits", "method_loss", "next_levels",
    "parse_stage", "random_levels", "read_levels_tsv", "smoothadv_attack", "smoothadv_loss", "train_stage",
    "update_levels", "write_levels_tsv",
]
