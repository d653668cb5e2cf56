from pathlib import Path

from insta_rs.sound.modes import SOUND_MODES, audited_modules, module_name
from insta_rs.workflow.code_deps import package_sources

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "insta_rs"


def modules_of(script: str, modules: tuple[str, ...] = ()) -> set[str]:
    return {Path(path).relative_to(PACKAGE).as_posix()
            for path in package_sources(str(ROOT / "scripts" / script), str(PACKAGE), modules)}


def test_follows_imports_through_modules_and_packages():
    certify = modules_of("certify.py")
    # direct (certify_run, steps), indirect (steps -> smoothing -> device, noise), package __init__
    assert {"certification/runner.py", "workflow/steps.py", "certification/smoothing.py", "runtime/device.py",
            "certification/noise.py", "models/checkpoints.py", "levels.py", "__init__.py",
            "certification/__init__.py"} <= certify
    assert not {"report/build.py", "report/figures.py", "search/algorithms.py"} & certify


def test_resolves_relative_imports_and_subpackages(tmp_path):
    audit = modules_of("sound_audit.py", tuple(audited_modules()))
    assert {"sound/__init__.py", "sound/audit.py", "sound/cascade.py", "sound/knn_sigma.py", "search/algorithms.py"} <= audit
    stage1 = modules_of("train_stage1.py")
    assert {"training/__init__.py", "training/loop.py", "training/smoothadv.py", "training/macer.py"} <= stage1


def test_a_step_that_does_not_import_torch_code_does_not_depend_on_it():
    table = modules_of("make_table.py")
    assert "report/build.py" in table and "certification/smoothing.py" not in table
    assert "models/architectures.py" not in table


def test_modules_a_registry_names_are_dependencies(tmp_path):
    """The training methods' modules are loaded by name (a registry), and still re-run the training steps."""
    assert {"training/methods.py", "training/gaussian.py", "training/smoothadv.py",
            "training/macer.py"} <= modules_of("train_fixed_sigma.py")
    script = tmp_path / "step.py"
    script.write_text('LOADED = "insta_rs.certification.stats"\nOTHER = "insta_rs is not a module name"\n')
    assert {Path(path).name for path in package_sources(str(script), str(PACKAGE))} == {"__init__.py", "stats.py"}


def test_a_sound_certificate_depends_on_its_own_mode_only():
    """One script runs every sound mode; the rule names the mode's module, and only that module is its code."""
    def certificate(mode: str) -> set[str]:
        return modules_of("sound_certificate.py", (module_name(SOUND_MODES[mode].module),))

    cascade, dual = certificate("cascade"), certificate("dual")
    assert {"sound/modes.py", "sound/cascade.py", "collapse.py"} <= cascade and "sound/dual.py" not in cascade
    assert {"sound/modes.py", "sound/dual.py"} <= dual and not {"sound/cascade.py", "collapse.py"} & dual
    assert "sound/semi_elastic.py" not in cascade | dual
    assert not {"sound/cascade.py", "sound/dual.py"} & modules_of("sound_certificate.py")  # the control
    audit = modules_of("sound_audit.py", tuple(audited_modules()))
    assert {"sound/cascade.py", "sound/semi_elastic.py", "sound/dual.py", "sound/deployed.py"} <= audit


def test_names_outside_the_package_are_ignored(tmp_path):
    script = tmp_path / "step.py"
    script.write_text("import os\nimport numpy as np\nfrom insta_rs.certification.stats import pA_lower_bound\n"
                      "from insta_rs import nothing_here\n")
    assert {Path(path).name for path in package_sources(str(script), str(PACKAGE))} == {"__init__.py", "stats.py"}


def test_sources_come_from_the_given_package_directory(tmp_path):
    """A copy of the repository declares its own files, not the installed package's."""
    copy = tmp_path / "insta_rs"
    (copy / "sound").mkdir(parents=True)
    (copy / "certification").mkdir()
    names = ("__init__.py", "certification/__init__.py", "certification/stats.py", "sound/__init__.py",
             "sound/modes.py")
    for name in names:
        (copy / name).write_text((PACKAGE / name).read_text())
    script = tmp_path / "step.py"
    script.write_text("from insta_rs.sound import modes\nfrom insta_rs.certification.stats import pA_lower_bound\n")
    assert set(package_sources(str(script), str(copy))) == {
        str(copy / name) for name in names}


def test_imports_for_type_checking_only_are_not_dependencies(tmp_path):
    script = tmp_path / "step.py"
    script.write_text("from typing import TYPE_CHECKING\nimport typing\n"
                      "if TYPE_CHECKING:\n    from insta_rs.certification import smoothing\nelse:\n"
                      "    from insta_rs.certification import stats\n"
                      "if typing.TYPE_CHECKING:\n    import insta_rs.models.architectures\n")
    names = {Path(path).name for path in package_sources(str(script), str(PACKAGE))}
    assert names == {"__init__.py", "stats.py"}
    other = tmp_path / "other_step.py"
    other.write_text("if True:\n    from insta_rs.certification import smoothing\n")  # any other condition is followed
    assert "smoothing.py" in {Path(path).name for path in package_sources(str(other), str(PACKAGE))}
