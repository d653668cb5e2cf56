"""The config schema and the cross-key checks reject bad values with a message naming the key."""

import copy
import re
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from insta_rs.config_check import ConfigError, check_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def default_config() -> dict:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, SCHEMA)
    return config


def test_default_config_is_valid_and_gets_defaults():
    config = default_config()
    check_config(config)
    assert config["certify"]["record_time"] is True and config["search"]["common_noise"] is True


@pytest.mark.parametrize("path,value,needle", [
    (("certify", "alpha"), 1.5, "alpha"),
    (("certify", "alpha"), 0, "alpha"),
    (("noise", "sigma0"), 0, "sigma0"),
    (("noise", "sigma0"), -0.25, "sigma0"),
    (("dataset", "test_subset"), {"every": 0}, "every"),
    (("certify", "typo_key"), 3, "typo_key"),
    (("search", "starts"), [[1, 2]], "starts"),
])
def test_schema_rejects_bad_values_naming_the_key(path, value, needle):
    config = default_config()
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(Exception) as error:
        validate(config, SCHEMA)
    assert needle in str(error.value)


def test_unknown_top_level_key_is_an_error():
    config = default_config()
    config["certfy"] = {"n": 10}
    with pytest.raises(Exception, match="certfy"):
        validate(config, SCHEMA)


@pytest.mark.parametrize("change,needle", [
    (lambda c: c["certify"].update(n0=1000, n=100), "certify.n0"),
    (lambda c: c["dataset"].update(test_subset={"start": 50, "stop": 50}), "test_subset"),
    (lambda c: c["search"].update(starts=[[40, -1]]), "search.starts"),
])
def test_cross_key_checks(change, needle):
    config = copy.deepcopy(default_config())
    change(config)
    with pytest.raises(ConfigError, match=needle):
        check_config(config)


def test_tables_must_name_configured_models():
    config = default_config()
    name = next(iter(config["tables"]))
    config["tables"][name]["rows"][0]["model"] = "no-such-model"
    with pytest.raises(ConfigError, match="no-such-model"):
        check_config(config)


def workflow_rules() -> dict[str, str]:
    """``{rule name: its text}`` for every rule of workflow/rules/*.smk (``use rule ... as name`` included)."""
    rules = {}
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        text = path.read_text()
        starts = [(match.start(), match.group(1) or match.group(2))
                  for match in re.finditer(r"^ *(?:rule (\w+):|use rule \w+ as (\w+) with:)", text, re.M)]
        for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")]):
            rules[name] = text[start:end]
    return rules


def test_slurm_profile_names_real_rules_and_covers_every_gpu_rule():
    profile = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    rules = workflow_rules()
    assert set(profile["set-resources"]) <= set(rules)
    parents = {name: re.match(r" *use rule (\w+) as", text) for name, text in rules.items()}
    gpu_rules = {name for name, text in rules.items()
                 if "gpu=GPUS" in text or (parents[name] and "gpu=GPUS" in rules[parents[name].group(1)])}
    assert gpu_rules <= set(profile["set-resources"])
