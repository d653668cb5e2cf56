"""Tests for insta_rs.workflow.protocols (every rule's params and the protocol of every result, from the config alone) and
for the inverse of insta_rs.layout's path methods that it relies on."""

import copy
from pathlib import Path

import pytest

from insta_rs.layout import Layout, ResultPath, protocol_key
from insta_rs.workflow.config_check import check_config, load_yaml, merge
from insta_rs.workflow.protocols import Protocols, canonical

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def validated(config: dict) -> dict:
    return check_config(copy.deepcopy(config), SCHEMA, local_files=False)


@pytest.fixture(scope="module")
def demo() -> dict:
    return validated(load_yaml(ROOT / "config.yaml"))


def reversed_order(value):
    """``value`` with every mapping's keys in reverse order (the same values)."""
    if isinstance(value, dict):
        return {key: reversed_order(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_order(item) for item in value]
    return value


def result_paths(config: dict) -> list[str]:
    """A result of every kind the demo makes (and shards of the sharded ones)."""
    protocols = Protocols.of_config(config, SCHEMA)
    layout, plan = protocols.layout, protocols.plan
    paths = [layout.data_flag(), *plan.final_targets(), *plan.read_paths()]
    for model in config["models"]:
        paths += [layout.checkpoint(model), layout.level(model, 3), layout.validation_level(model, 2),
                  layout.search(model, "fgss"), layout.search(model, "grid"), layout.uniform(model, "validation"),
                  layout.assigned(model, "fgss")]
    for model in config["sound"]["models"]:
        paths += [layout.search(model, "knn"), layout.knn_meta(model), layout.selector_certification(model),
                  layout.model_file(model, "selector.pt"), layout.model_file(model, "selector_labels.tsv")]
    for model in plan.two_stage_models("insta", "stage1"):
        paths += [layout.training_levels(model), layout.training_level(model, "epoch_4.tsv"),
                  layout.model_file(model, "stage1.pt"), layout.model_file(model, "sigma_assignment.json")]
    for model in plan.two_stage_models("pfat", "stage1"):
        paths += [layout.model_file(model, "assigned_levels.tsv"), layout.model_file(model, "sigma_assignment.json")]
    finals = [layout.level("insta-s3", 2), layout.validation_level("insta-s3", 2), layout.search("insta-s3", "fgss")]
    paths += [layout.shard(final, "0123456789ab").replace("{scatteritem}", "2-of-3") for final in finals]
    return sorted(set(paths))


def test_canonical_sorts_every_mapping():
    value = {"b": [{"y": 1, "x": (2, 3)}], "a": {"d": None, "c": "s"}}
    assert list(canonical(value)) == ["a", "b"] and list(canonical(value)["a"]) == ["c", "d"]
    assert canonical(value)["b"] == [{"x": [2, 3], "y": 1}] and canonical(value) == value | {"b": [{"x": [2, 3],
                                                                                                     "y": 1}]}


def test_parse_inverts_every_path_method():
    layout = Layout("results/run")
    spelled = {"data_flag": (), "model_file": ("m-1.0", "stage1_history.tsv"), "training_levels": ("m",),
               "training_level": ("m", "epoch_12.tsv"), "level": ("m", "7"), "validation_level": ("m", "3"),
               "selector_certification": ("m",), "assigned": ("m", "knn"), "sound": ("m", "semi_elastic"),
               "search": ("m", "grid"), "uniform": ("m", "test"), "knn_meta": ("m",), "table": ("table1", "tex"),
               "figure": ("fig3c", "pdf")}
    for kind, args in spelled.items():
        parsed = layout.parse(getattr(layout, kind)(*args))
        assert parsed.kind == kind and tuple(parsed.fields.values()) == args, kind
    shard = layout.shard(layout.validation_level("m", 3), "0123456789ab").replace("{scatteritem}", "1-of-2")
    assert layout.parse(shard) == ResultPath("shard", {"directory": "results/run/certify/m/validation",
                                                       "name": "level3", "key": "0123456789ab",
                                                       "scatteritem": "1-of-2"})
    not_results = [layout.log("certify", "m", "levels", "1-of-1.log"), layout.benchmark("models", "m", "train.tsv"),
                   layout.level("m", 2) + ".seal", layout.level("m", 2) + ".partial",
                   "results/other/data/dataset.ready", layout.path("models", "m", "notes.txt")]
    assert [layout.parse(path) for path in not_results] == [None] * len(not_results)


def test_the_protocol_of_a_result_is_the_params_of_the_job_that_computed_it(demo):
    protocols = Protocols.of_config(demo, SCHEMA)
    layout = protocols.layout
    producers = {layout.checkpoint("cohen-0.50"): "train_fixed_sigma", layout.checkpoint("insta-s3"): "insta_stage2",
                 layout.checkpoint("pfat"): "pfat_stage2", layout.checkpoint("pfat-noft"): "export_stage1",
                 layout.model_file("pfat", "sigma_assignment.json"): "pfat_assign",
                 layout.model_file("insta-s1", "sigma_assignment.json"): "insta_stage1",
                 layout.model_file("pfat", "stage1.pt"): "pfat_stage1",
                 layout.training_level("insta-s1", "epoch_4.tsv"): "insta_stage1",
                 layout.level("insta-s3", 5): "merge_levels", layout.search("insta-s3", "knn"): "sound_knn_sigma",
                 layout.search("insta-s3", "grid"): "merge_search", layout.sound("insta-s3", "dual"): "sound_certificate",
                 layout.table("falsification", "md"): "sound_falsify", layout.table("audit_examples", "tsv"):
                     "sound_audit", layout.figure("fig3c", "png"): "figure", layout.table("b3", "tex"): "table"}
    assert {path: protocols.producer(path)[0] for path in producers} == producers
    level = protocols.of(layout.level("insta-s3", 5))
    assert level == protocols.job("certify_levels", {"model": "insta-s3"})  # the merged jobs' params
    assert level["levels"] == list(range(1, 17)) and level["certify"]["n"] == 400
    shard = layout.shard(layout.level("insta-s3", 5), "0123456789ab").replace("{scatteritem}", "1-of-2")
    assert protocols.of(shard) == level
    assert protocols.of(layout.uniform("cohen-0.50", "validation"))["dataset"] == protocols.split_dataset["validation"]
    with pytest.raises(ValueError, match="is not a result of run demo"):
        protocols.of("results/demo/logs/x.log")


def test_a_published_model_is_imported_and_its_location_is_not_its_protocol():
    config = validated(load_yaml(ROOT / "config" / "paper-cifar10.yaml"))
    model = next(name for name, entry in config["models"].items() if entry.get("pretrained", {}).get("path"))
    protocols = Protocols.of_config(config, SCHEMA)
    checkpoint = protocols.layout.checkpoint(model)
    assert protocols.producer(checkpoint)[0] == "import_pretrained"
    moved = copy.deepcopy(config)
    moved["models"][model]["pretrained"]["path"] = "/elsewhere/model.pth"
    assert Protocols.of_config(moved, SCHEMA).key(checkpoint) == protocols.key(checkpoint)


def test_key_order_and_defaults_written_out_change_no_protocol(demo):
    """The demo config with every mapping in reverse order, and the validated config (every default written out):
    the same params for every rule and the same protocol for every result."""
    before = Protocols.of_config(demo, SCHEMA)
    raw = load_yaml(ROOT / "config.yaml")
    for config in (validated(reversed_order(raw)), validated(reversed_order(demo))):
        after = Protocols.of_config(config, SCHEMA)
        assert list(config["certify"]) != list(demo["certify"]) or config is not demo
        for path in result_paths(demo):
            assert repr(after.of(path)) == repr(before.of(path)), path  # Snakemake compares params by repr
        for rule in ("certify_levels", "search_instance", "sound_audit", "prepare_data", "dual_labels"):
            job = {"model": "insta-s3"}  # what Snakemake compares: a job's params, functions of wildcards called
            assert repr(after.job(rule, job)) == repr(before.job(rule, job)), rule


HOW = {"certify.batch_size": {"certify": {"batch_size": 7}}, "certify.shards": {"certify": {"shards": 5}},
       "certify.record_time": {"certify": {"record_time": False}}, "search.batch_size": {"search": {"batch_size": 9}}}


@pytest.mark.parametrize("change", HOW.values(), ids=HOW)
def test_how_keys_are_in_no_protocol(demo, change):
    before = Protocols.of_config(demo, SCHEMA)
    after = Protocols.of_config(validated(merge(load_yaml(ROOT / "config.yaml"), change)), SCHEMA)
    assert [after.key(path) for path in result_paths(demo)] == [before.key(path) for path in result_paths(demo)]


def test_what_keys_change_exactly_their_results(demo):
    """A negative control of the test above: certify.n changes the protocol of certifications, not of training."""
    before = Protocols.of_config(demo, SCHEMA)
    after = Protocols.of_config(validated(merge(load_yaml(ROOT / "config.yaml"), {"certify": {"n": 500}})), SCHEMA)
    layout = before.layout
    assert after.key(layout.level("insta-s3", 2)) != before.key(layout.level("insta-s3", 2))
    assert after.key(layout.checkpoint("insta-s3")) == before.key(layout.checkpoint("insta-s3"))
    assert protocol_key(after.of(layout.checkpoint("insta-s3"))) == before.key(layout.checkpoint("insta-s3"))
