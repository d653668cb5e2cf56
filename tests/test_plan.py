"""Tests for insta_rs.workflow.plan: what a run of the demo config and of the tiny config makes and reads."""

import copy
from pathlib import Path

import pytest

from insta_rs.workflow.config_check import check_config, load_yaml
from insta_rs.workflow.plan import Plan, one_of
from insta_rs.workflow.protocols import Protocols

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
TABLE_FILES = ("md", "tex", "tsv")


def plan_of(config: dict) -> Plan:
    return Protocols.of_config(check_config(copy.deepcopy(config), SCHEMA, local_files=False), SCHEMA).plan


@pytest.fixture(scope="module")
def demo() -> Plan:
    return plan_of(load_yaml(ROOT / "config.yaml"))


@pytest.fixture(scope="module")
def tiny_config() -> dict:
    return load_yaml(ROOT / ".test" / "config" / "config.yaml")


@pytest.fixture(scope="module")
def tiny(tiny_config) -> Plan:
    return plan_of(tiny_config)


def levels(run: str, model: str, numbers, folder: str = "") -> list[str]:
    return [f"results/{run}/certify/{model}/{folder}level{k}.tsv" for k in numbers]


def test_the_tiny_run_makes_its_tables_figures_and_sound_certificates(tiny):
    tables = ["table1", "table3", "b3", "training_speed", "collapse_training", "collapse_levels"]
    assert tiny.table_names() == tables
    assert tiny.result_tables() == tables[:4]
    assert tiny.final_targets() == (
        [f"results/tiny/tables/{table}.{ext}" for table in tables for ext in TABLE_FILES]
        + [f"results/tiny/figures/{figure}.{ext}" for figure in ("fig1a", "fig3c") for ext in ("png", "pdf")]
        + [f"results/tiny/certify/insta/{mode}.tsv" for mode in ("cascade", "semi_elastic", "dual")]
        + ["results/tiny/tables/falsification.md"])


def test_the_tiny_run_trains_each_model_with_the_rules_of_its_method(tiny):
    assert tiny.fixed_sigma_models() == ["cohen-0.50"]
    assert [tiny.trained_by(rule) for rule in ("insta_stage1", "insta_stage2", "pfat_stage1", "pfat_assign",
                                               "pfat_stage2")] == [["insta"], ["insta"], [], [], []]
    assert tiny.stage1_only_models() == []
    assert tiny.training_speed_models() == ["insta"]
    assert tiny.training_level_files() == {"insta": "results/tiny/models/insta/levels",
                                           "insta selector": "results/tiny/models/insta/selector_labels.tsv"}


def test_the_tiny_run_certifies_every_level_and_reads_what_its_tables_need(tiny):
    assert tiny.swept_models() == ["cohen-0.50", "insta"]
    assert tiny.single_level_models() == []
    assert tiny.levels_read() == {"cohen-0.50": [1, 2, 3, 4], "insta": [1, 2, 3, 4]}
    assert tiny.table_inputs("b3") == levels("tiny", "cohen-0.50", range(1, 5)) + [
        "results/tiny/search/cohen-0.50/uniform_test.tsv", "results/tiny/search/cohen-0.50/uniform_validation.tsv"]
    assert tiny.table_inputs("training_speed") == ["results/tiny/models/insta/sigma_assignment.json"]
    assert tiny.table_inputs("collapse_training") == ["results/tiny/models/insta/levels",
                                                      "results/tiny/models/insta/selector_labels.tsv",
                                                      "results/tiny/data/dataset.ready"]
    assert tiny.table_inputs("collapse_levels") == (levels("tiny", "cohen-0.50", range(1, 5))
                                                    + levels("tiny", "insta", range(1, 5)))
    assert tiny.table_spec("collapse_levels") == {"collapse_levels": {
        "cohen-0.50": levels("tiny", "cohen-0.50", range(1, 5)), "insta": levels("tiny", "insta", range(1, 5))}}
    assert tiny.figure_inputs("fig3c") == ["results/tiny/search/insta/grid.tsv", "results/tiny/search/insta/fgss.tsv"]


def test_the_tiny_run_guards_and_certifies_dual_rs_at_its_candidates(tiny):
    assert tiny.collapse_guard_inputs("insta") == levels("tiny", "insta", range(1, 5), "validation/")
    assert tiny.dual_models() == ["insta"]
    assert tiny.sound_inputs("insta", "dual") == {"selector": "results/tiny/certify/insta/selector.tsv",
                                                  "levels": levels("tiny", "insta", [1, 4])}
    assert tiny.sound_inputs("insta", "cascade") == {
        "levels": levels("tiny", "insta", range(1, 5)), "guard": "results/tiny/certify/insta/validation/collapse_guard.tsv"}
    assert tiny.sound_inputs("insta", "semi_elastic") == {"tsv": "results/tiny/certify/insta/search_knn.tsv",
                                                          "meta": "results/tiny/search/insta/knn.json"}
    assert tiny.audit_inputs() == {"models": [], "certifications": [], "reads": [], "guards": []}
    assert tiny.level_readings("insta") == []  # fixed N: the counts serve every level


def test_a_sequential_certification_settles_the_levels_it_is_read_at(tiny_config):
    config = copy.deepcopy(tiny_config)
    config["certify"]["procedure"] = "sequential"
    plan = plan_of(config)
    # the alpha/K envelope (oracle_bonferroni, 1/4), Dual RS's classifier (1 - 0.5), the cascade (1/(2K))
    assert plan.level_readings("cohen-0.50") == ["0.25"]
    assert plan.level_readings("insta") == ["0.5", "0.25", "0.125"]


def test_a_level_nobody_else_reads_gets_a_job_of_its_own(tiny_config):
    config = copy.deepcopy(tiny_config)
    config["tables"] = {"one": {"rows": [{"label": "level 2", "model": "insta", "result": "level:2"}],
                                "companions": False}}
    config["figures"], config["sound"]["models"] = {}, []
    del config["analysis"]["b3"]
    plan = plan_of(config)
    assert plan.levels_read() == {"cohen-0.50": [], "insta": [2]}
    assert plan.swept_models() == [] and plan.single_level_models() == ["cohen-0.50", "insta"]
    assert plan.table_names() == ["one", "training_speed", "collapse_training"]
    assert plan.table_inputs("one") == levels("tiny", "insta", [2])


def test_the_demo_trains_certifies_and_audits_its_models(demo):
    assert demo.table_names() == ["table1", "table2", "table2-deployable", "table3", "table5", "table6", "b3",
                                  "training_speed", "collapse_training", "collapse_levels"]
    assert len(demo.final_targets()) == 10 * 3 + 2 * len(demo.config["figures"]) + 8
    assert demo.fixed_sigma_models() == ["cohen-0.25", "cohen-0.50", "cohen-1.00", "macer-1.00", "smoothadv-1.00"]
    assert demo.trained_by("insta_stage1") == ["insta-s1", "insta-s3", "insta-s3-fixed-eps"]
    assert demo.trained_by("insta_stage2") == ["insta-s1", "insta-s2", "insta-s3", "insta-s2-fixed-eps",
                                               "insta-s3-fixed-eps"]
    assert demo.trained_by("pfat_stage1") == demo.trained_by("pfat_assign") == demo.trained_by("pfat_stage2") == [
        "pfat"]
    assert demo.stage1_only_models() == ["insta-s3-noft", "pfat-noft"]
    assert demo.training_speed_models() == ["insta-s1", "insta-s3", "insta-s3-fixed-eps", "pfat"]
    assert demo.table_inputs("training_speed") == [f"results/demo/models/{model}/sigma_assignment.json"
                                                   for model in demo.training_speed_models()]
    assert demo.swept_models() == list(demo.config["models"]) and demo.single_level_models() == []
    assert demo.dual_models() == ["cohen-0.50", "insta-s3"]
    assert demo.sound_inputs("insta-s3", "dual")["levels"] == levels("demo", "insta-s3", [1, 2, 4, 8, 16])
    assert demo.audit_inputs() == {
        "models": ["results/demo/models/insta-s3/checkpoint.pt"],
        "certifications": [f"results/demo/certify/insta-s3/{name}.tsv"
                           for name in ("search_fgss", "cascade", "semi_elastic", "dual")],
        "reads": ["results/demo/search/insta-s3/knn.json", "results/demo/models/insta-s3/selector.pt"],
        "guards": ["results/demo/certify/insta-s3/validation/collapse_guard.tsv"]}
    assert demo.sound_targets()[-2:] == ["results/demo/tables/falsification.md", "results/demo/tables/audit.md"]


def test_one_of_matches_exactly_the_names_or_nothing():
    assert one_of(["fgss", "a.b"]) == r"fgss|a\.b"
    assert one_of([]) == "(?!)"
    assert Plan.assignments() == ["fgss", "grid", "knn"]
