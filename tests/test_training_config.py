"""Stage settings: defaults, adaptive eps, and clear errors for typos and missing keys."""

import pytest

from insta_rs.training.config import parse_stage


def test_defaults_and_named_keys():
    stage = parse_stage({"method": "macer", "epochs": 4, "batch_size": 8, "lr": 0.01, "sigma": 1.0, "lambda": 4,
                         "milestones": [2, 3]}, "fixed", "models.macer.train")
    assert stage.options == {"k": 16, "lambda": 4.0, "gamma": 8.0, "beta": 16.0}
    assert stage.milestones == (2, 3) and stage.momentum == 0.9 and stage.weight_decay == 1e-4
    adaptive = parse_stage({"method": "smoothadv", "epochs": 1, "batch_size": 8, "lr": 0.1}, "stage2", "s2")
    fixed = parse_stage({"method": "smoothadv", "epochs": 1, "batch_size": 8, "lr": 0.1, "eps": 2}, "stage2", "s2")
    assert adaptive.options["eps"] == "adaptive" and fixed.options["eps"] == 2.0


@pytest.mark.parametrize("cfg, role, message", [
    ({"method": "gaussian", "epochs": 1, "batch_size": 8, "lr": 0.1, "sigm": 0.5}, "fixed", "sigm"),
    ({"method": "gaussian", "epochs": 1, "batch_size": 8, "lr": 0.1}, "fixed", "sigma"),
    ({"method": "gaussian", "epochs": 1, "batch_size": 8, "lr": 0.1, "L": 2}, "stage2", r"train\.L: not a setting"),
    ({"method": "adam", "epochs": 1, "batch_size": 8, "lr": 0.1}, "stage2", "method"),
    ({"method": "smoothadv", "epochs": 1, "batch_size": 8, "lr": 0.1, "eps": "big"}, "stage2", "eps"),
    ({"method": "macer", "epochs": 1, "batch_size": 8, "lr": 0.1, "sigma": 1, "k": 2.5}, "fixed", "k"),
    ({"method": "gaussian", "epochs": 0, "batch_size": 8, "lr": 0.1}, "stage2", "epochs"),
    ({"method": "gaussian", "epochs": 1, "batch_size": 8, "lr": 0.1, "L": 1, "p_max": 1.0}, "insta_stage1", "p_max"),
])
def test_bad_settings_name_the_key(cfg, role, message):
    with pytest.raises(ValueError, match=message):
        parse_stage(cfg, role, "models.x.train")
