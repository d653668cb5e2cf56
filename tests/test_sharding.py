"""Tests for insta_rs.workflow.sharding: the sharded steps the rule files make their certification and merge rules
from, checked against the layout, the protocols and the plan (what a job writes is attributed back to it)."""

import copy
import re
from pathlib import Path

import pytest

from insta_rs.workflow.config_check import check_config, load_yaml, merge
from insta_rs.workflow.protocols import Protocols
from insta_rs.workflow.sharding import MERGES, certifications, sharded_steps

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
# A job of each step (its wildcards) in configs that plan it: the demo certifies every level of its models, ImageNet's
# Table 4 without companions one level of some.
JOBS = {("config.yaml",): {"certify_levels": {"model": "insta-s3"}, "certify_validation": {"model": "cohen-0.50"},
                           "certify_assigned": {"model": "insta-s3", "assignment": "fgss"},
                           "certify_selector": {"model": "insta-s3"},
                           "search_instance": {"model": "insta-s3", "method": "grid"}},
        ("config/paper-imagenet.yaml", "config/imagenet-table4-only.yaml"): {
            "certify_level": {"model": "cohen-1.00", "level": "16"},
            "certify_assigned": {"model": "cohen-1.00", "assignment": "fgss"}}}

def protocols_of(*config_files: str) -> Protocols:
    config = {}
    for name in config_files:
        config = merge(config, load_yaml(ROOT / name))
    return Protocols.of_config(check_config(copy.deepcopy(config), SCHEMA, local_files=False), SCHEMA)


@pytest.fixture(scope="module")
def demo() -> Protocols:
    return protocols_of("config.yaml")


def filled(pattern: str, wildcards: dict, shard: str = "2-of-3") -> str:
    return pattern.format(**wildcards, scatteritem=shard)


def test_every_sharded_rule_has_one_merge_and_the_certifications_are_run_by_one_script(demo):
    steps = sharded_steps(demo)
    assert set(steps) == set(MERGES) == {rule for jobs in JOBS.values() for rule in jobs} and len(set(MERGES.values())) == len(MERGES)
    assert [step.rule for step in certifications(steps)] == [
        "certify_levels", "certify_level", "certify_validation", "certify_assigned", "certify_selector"]
    assert all({"model", "data"} <= set(step.reads) for step in certifications(steps))
    assert steps["certify_assigned"].reads["assignment"] == demo.layout.search("{model}", "{assignment}")
    assert steps["certify_selector"].reads["model"] == demo.layout.model_file("{model}", "selector.pt")


@pytest.mark.parametrize("config_files", list(JOBS))
def test_what_a_job_writes_is_attributed_to_its_rule_and_what_a_merge_writes_to_the_merge(config_files):
    protocols = protocols_of(*config_files)
    steps = sharded_steps(protocols)
    for rule, wildcards in JOBS[config_files].items():
        step = steps[rule]
        shards = [step.shards] if isinstance(step.shards, str) else step.shards
        results = [step.results] if isinstance(step.results, str) else step.results
        assert len(shards) == len(results) == (16 if rule in ("certify_levels", "certify_validation") else 1)
        for shard, result in zip(shards, results):
            for path, writer in ((filled(shard, wildcards), rule), (filled(result, wildcards), step.merge)):
                found, fields = protocols.producer(path)
                assert found == writer and wildcards.items() <= fields.items()
            assert protocols.of(filled(shard, wildcards)) == protocols.of(filled(result, wildcards)) \
                == protocols.job(rule, wildcards)
        # the merge job reads every shard of every result of the job with the same wildcards, in order
        assert step.shard_patterns(wildcards) == [filled(shard, wildcards, "{scatteritem}") for shard in shards]


def test_each_step_logs_to_a_folder_of_its_own_and_its_wildcards_are_constrained(demo):
    steps = sharded_steps(demo).values()
    folders = [step.log.rpartition("/")[0] for step in steps]
    assert len(set(folders)) == len(folders)
    for step in steps:
        assert step.benchmark.rpartition("/")[0].replace("benchmarks", "logs") == step.log.rpartition("/")[0]
        assert step.merge_log == step.log.replace("{scatteritem}", "merge")
        patterns = [step.results] if isinstance(step.results, str) else step.results
        named = {name for pattern in patterns for name in re.findall(r"{(\w+)}", pattern)}
        assert named - {"model"} <= set(step.wildcards)  # every wildcard besides the model is constrained


def test_a_level_is_certified_by_exactly_one_rule_whatever_the_plan():
    """ImageNet's Table 4 without companions certifies one level of some models: those models' levels come from
    certify_level, every other model's from certify_levels (negative control: the plain ImageNet config has no
    single-level model)."""
    for files, single in ((("config/paper-imagenet.yaml",), False),
                          (("config/paper-imagenet.yaml", "config/imagenet-table4-only.yaml"), True)):
        protocols = protocols_of(*files)
        steps = sharded_steps(protocols)
        swept, one = (re.compile(steps[rule].wildcards["model"]) for rule in ("certify_levels", "certify_level"))
        models = list(protocols.config["models"])
        assert not any(swept.fullmatch(model) and one.fullmatch(model) for model in models)
        assert any(one.fullmatch(model) for model in models) == single


@pytest.mark.parametrize(("key", "moved"), [
    (("certify", "seed"), {"certify_levels", "certify_level", "certify_assigned"}),
    (("certify", "validation_seed"), {"certify_validation"}),
    (("sound", "dual", "seed"), {"certify_selector"}),
    (("certify", "batch_size"), set()),  # how, not what: no shard moves
    (("certify", "shards"), set()),
])
def test_a_step_writes_its_shards_under_a_key_of_what_it_computes(key, moved):
    """Shards computed under another protocol never mix with the current ones: a change to what a step computes
    moves its shards (and no other step's); a change to how leaves them all in place."""
    config = check_config(load_yaml(ROOT / "config.yaml"), SCHEMA, local_files=False)  # defaults filled in
    before = sharded_steps(Protocols.of_config(copy.deepcopy(config), SCHEMA))
    section = config
    for name in key[:-1]:
        section = section[name]
    section[key[-1]] = section[key[-1]] + 10  # seeds stay distinct
    after = sharded_steps(Protocols.of_config(check_config(config, SCHEMA, local_files=False), SCHEMA))
    assert {rule for rule in before if before[rule].shards != after[rule].shards} == moved
