"""The config check: one-line errors that name the full key and what is allowed, the registries behind the
allowed names, relations between keys, and the local files a run needs, all before any job runs."""

import copy
import re
from pathlib import Path

import pytest
import yaml
from tiny_workflow import defined_rules

from insta_rs.data.datasets import DATASETS
from insta_rs.models.architectures import ARCHS, INPUT_LAYER_KINDS
from insta_rs.runtime.device import PRECISIONS
from insta_rs.sound import dual_selector
from insta_rs.workflow.config_check import (
    REGISTRIES,
    ConfigError,
    check_config,
    load_schema,
    load_yaml,
    main,
    merge,
    missing_local_files,
    registry_names,
)
from insta_rs.workflow.protocols import how_keys

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def error_of(config: dict) -> str:
    with pytest.raises(ConfigError) as error:
        check_config(config, SCHEMA)
    return str(error.value)


def test_default_config_is_valid_gets_defaults_and_derived_values():
    config = check_config(default_config(), SCHEMA)
    assert config["certify"]["record_time"] is True and config["search"]["common_noise"] is True
    assert config["search"]["p_max"] == pytest.approx(0.001 ** (1 / 400))  # null: alpha ** (1 / n)


@pytest.mark.parametrize("change, first_line", [
    (lambda c: c.update(certfy={"n": 10}), "certfy: unknown key (did you mean certify? allowed here: run, device, precision"),
    (lambda c: c["certify"].update(alpha=1.5), "certify.alpha = 1.5: must be < 1"),
    (lambda c: c["certify"].update(alpha=0), "certify.alpha = 0: must be > 0"),
    (lambda c: c["noise"].update(sigma0=-0.25), "noise.sigma0 = -0.25: must be > 0"),
    (lambda c: c["certify"].update(n="100"), "certify.n = '100': must be of type integer"),
    (lambda c: c["certify"].update(typo_key=3), "certify.typo_key: unknown key (allowed here: n0, n, alpha"),
    (lambda c: c["dataset"]["test_subset"].update(every=0), "dataset.test_subset.every = 0: must be >= 1"),
    (lambda c: c["search"].update(starts=[[1, 2]]), "search.starts.0.1 = 2: use one of -1, 1"),
    (lambda c: c["dataset"].update(name="cifar"), "dataset.name = 'cifar': use one of digits, cifar10, imagenet"),
    (lambda c: c["models"]["cohen-0.25"].update(arch="resnet"), "models.cohen-0.25.arch = 'resnet': use one of"),
    # inside models.<m>.train and its stages: the full path, what is allowed
    (lambda c: c["models"]["cohen-0.25"]["train"].update(method="gausian"),
     "models.cohen-0.25.train.method = 'gausian': use one of gaussian, smoothadv, macer"),
    (lambda c: c["models"]["cohen-0.25"]["train"].update(epochs="ten"),
     "models.cohen-0.25.train.epochs = 'ten': must be of type integer"),
    (lambda c: c["models"]["cohen-0.25"]["train"].pop("sigma"), "models.cohen-0.25.train.sigma is required"),
    (lambda c: c["models"]["cohen-0.25"]["train"].update(epocs=c["models"]["cohen-0.25"]["train"].pop("epochs")),
     "models.cohen-0.25.train.epochs is required (epocs is given: a misspelling?)"),
    (lambda c: c["models"]["insta-s1"]["train"]["stage1"].update(epochs=0),
     "models.insta-s1.train.stage1.epochs = 0: must be >= 1"),
    (lambda c: c["models"]["insta-s1"]["train"]["stage1"].update(method="adam"),
     "models.insta-s1.train.stage1.method = 'adam': use one of gaussian, smoothadv, macer"),
    (lambda c: c["models"]["insta-s1"]["train"]["stage1"].update(m_trian=2),
     "models.insta-s1.train.stage1.m_trian: not a setting of method gaussian here; allowed:"),
    (lambda c: c["models"]["macer-1.00"]["train"].update(k=2.5), "models.macer-1.00.train.k = 2.5: use an integer >= 1"),
    (lambda c: c["models"]["insta-s3"]["train"].update(stage2={"method": "smoothadv", "epochs": 1, "batch_size": 8,
                                                               "lr": 0.1, "eps": "big"}),
     "models.insta-s3.train.stage2.eps = 'big': use a number >= 0 or one of adaptive"),
    (lambda c: c["models"]["insta-s2"]["train"].update(stag2={}),
     "models.insta-s2.train.stag2: unknown key (did you mean stage2? allowed here: method, stage1, stage1_from, "
     "stage2)"),
    (lambda c: c["models"]["insta-s2"]["train"].update(stage1_from="nope"),
     "models.insta-s2.train.stage1_from = 'nope' must name a model with method 'insta'"),
    (lambda c: c["dataset"].update(download=True), "dataset.download: not a key of dataset 'digits'"),
    (lambda c: c["sound"].update(modes=["dual-rs"]), "sound.modes.0 = 'dual-rs': use one of cascade, semi_elastic"),
    (lambda c: c["sound"]["audit"].update(modes=["cascad"]), "sound.audit.modes: unknown mode 'cascad'"),
    (lambda c: c["sound"]["dual"].update(seed=0),
     "certify.seed, certify.validation_seed, sound.dual.seed = [0, 2, 0]: give each its own value"),
    (lambda c: c["tables"]["table1"]["rows"][0].update(result="level:99"),
     "tables.table1.rows.0.result: unknown table row result 'level:99': use one of level:<1..16>, search:fgss"),
    (lambda c: c["tables"]["table1"]["rows"][0].update(model="no-such-model"),
     "tables.table1 names models ['no-such-model'] that are not under models"),
    (lambda c: c["figures"]["fig3a"].update(kind="fig9"), "figures.fig3a.kind = 'fig9': use one of fig1a, fig1c"),
    (lambda c: c["certify"].update(n0=1000), "certify.n0 = 1000 exceeds certify.n = 400"),
    (lambda c: c["dataset"].update(test_subset={"start": 50, "stop": 50}), "dataset.test_subset: stop (50)"),
    (lambda c: c["search"].update(starts=[[40, -1]]), "search.starts: start level 40 exceeds noise.n_levels = 16"),
])
def test_errors_name_the_key_and_what_is_allowed_in_one_line(change, first_line):
    config = default_config()
    change(config)
    message = error_of(config)
    assert message.splitlines()[0].startswith(first_line), message
    assert len(message) < 400 and len(message.splitlines()) == 1  # no schema dump


def test_every_key_of_the_default_config_is_checked():
    """A negative control for the test above: the unchanged config passes, so each error comes from its change."""
    check_config(default_config(), SCHEMA)


def test_registries_fill_the_schema_and_tests_tie_the_other_names():
    schema = load_schema(SCHEMA)
    text = SCHEMA.read_text()
    assert set(re.findall(r"x-registry: (\w+)", text)) == set(REGISTRIES)
    assert schema["$defs"]["stage"]["properties"]["method"]["enum"] == registry_names("training_methods")
    assert schema["properties"]["dataset"]["properties"]["name"]["enum"] == list(DATASETS)
    assert schema["$defs"]["model"]["properties"]["arch"]["enum"] == list(ARCHS)
    assert schema["$defs"]["input_layer"]["properties"]["kind"]["enum"] == list(INPUT_LAYER_KINDS)
    assert schema["properties"]["precision"]["enum"] == list(PRECISIONS)
    dual_labels = schema["properties"]["sound"]["properties"]["dual"]["properties"]["labels"]
    assert dual_labels["properties"]["criterion"]["enum"] == list(dual_selector.LABEL_CRITERIA)


def test_how_keys_are_the_settings_the_readme_calls_how():
    how = how_keys(load_schema(SCHEMA))
    assert how == {"device", "dataset.root", "dataset.download", "certify.batch_size", "certify.shards",
                   "certify.record_time", "search.batch_size", "cost.calibration_s"}
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in how)


def test_yaml_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("run: x\ndataset:\n  name: digits\n   num_classes: 10\n")
    with pytest.raises(ConfigError, match=r"bad.yaml, line 4, column 15: not valid YAML"):
        load_yaml(path)
    assert main([str(path)]) == 1


def test_command_merges_files_and_checks(tmp_path, capsys):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("certify: {n: 1000}\n")
    assert main([str(ROOT / "config.yaml"), str(overlay)]) == 0
    assert "valid" in capsys.readouterr().out
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


def paper_config(name: str) -> dict:
    return check_config(load_yaml(ROOT / "config" / name), SCHEMA, local_files=False)


def test_missing_manual_downloads_and_data_are_listed_with_where_to_get_and_put_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    problems = missing_local_files(paper_config("paper-cifar10.yaml"))
    assert len(problems) == 1  # CIFAR-10 is downloaded; the MACER checkpoint is not
    assert "models.macer-1.00.pretrained.path = data/pretrained/macer/cifar10-sigma1.00.pth" in problems[0]
    assert "https://1drv.ms/u/" in problems[0]
    message = error_of(load_yaml(ROOT / "config" / "paper-cifar10.yaml"))
    assert message.startswith("files this run needs are missing:") and "macer" in message
    imagenet = missing_local_files(paper_config("paper-imagenet.yaml"))
    assert len(imagenet) == 1 and imagenet[0].startswith("dataset.root = data/imagenet has no val/ folder: download "
                                                         "ILSVRC2012 from image-net.org")
    (tmp_path / "data" / "imagenet" / "val").mkdir(parents=True)
    assert missing_local_files(paper_config("paper-imagenet.yaml")) == []


def test_cifar10_root_with_class_folders_points_to_imagefolder(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "0001.png").write_bytes(b"")
    config = copy.deepcopy(paper_config("gpu-hour-cifar10.yaml"))
    config["dataset"].update(root=str(tmp_path), download=False)
    problems = missing_local_files(config)
    assert len(problems) == 1 and "dataset.name: imagefolder" in problems[0]
    (tmp_path / "cifar-10-batches-py").mkdir()
    assert missing_local_files(config) == []


def test_slurm_profile_names_real_rules_and_covers_every_gpu_rule(tmp_path):
    profile = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    rules = defined_rules(tmp_path)
    assert {"certify_levels", "merge_levels", "certify_selector", "train_fixed_sigma", "all"} <= set(rules)
    assert set(profile["set-resources"]) <= set(rules)
    gpu_rules = {name for name, rule in rules.items() if rule["gpu"]}
    local = {name for name, rule in rules.items() if rule["local"]}  # they run where Snakemake runs
    assert {"certify_levels", "search_instance", "train_fixed_sigma"} <= gpu_rules and "merge_levels" in local
    assert gpu_rules - local <= set(profile["set-resources"])


def test_profiles_rerun_only_on_what_is_computed():
    for name in ("default", "slurm"):
        profile = yaml.safe_load((ROOT / "workflow" / "profiles" / name / "config.yaml").read_text())
        assert profile["rerun-triggers"] == ["mtime", "params", "code", "software-env"], name
