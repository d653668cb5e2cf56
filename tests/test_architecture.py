"""The package's shape, as the README's map describes it: folders by concern, each importing only from the folders
before it; few modules at the top; no module name used twice or shadowing the standard library; small modules and
functions."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "insta_rs"
# Bottom to top; a folder (or top-level module) imports only from earlier layers.
LAYERS = [{"runtime", "files", "levels", "layout"}, {"certification"}, {"data"},
          {"models", "analysis", "collapse", "search"}, {"training"}, {"sound"}, {"report"}, {"workflow"}, {"cost"}]
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 300
MAX_PARAMETERS = 8


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def unit_of(path: Path) -> str:
    """The folder a module lies in, or the module's own name for a top-level module."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_units(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("insta_rs."):
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("insta_rs.")]
        found |= {name.split(".")[1] for name in names}
    return found


def test_every_folder_imports_only_from_the_layers_below_it():
    layer_of = {unit: number for number, layer in enumerate(LAYERS) for unit in layer}
    units = {unit_of(path) for path in modules()} - {"__init__"}
    assert units == set(layer_of), "every folder and top-level module has a layer"
    upward = [(path.relative_to(PACKAGE).as_posix(), unit) for path in modules() for unit in imported_units(path)
              if unit != unit_of(path) and layer_of[unit] >= layer_of.get(unit_of(path), -1)]
    assert upward == []


def test_the_layer_check_has_power(tmp_path):
    """A module that imports from a later layer is found (negative control)."""
    module = tmp_path / "bad.py"
    module.write_text("from insta_rs.workflow.plan import Plan\n")
    assert imported_units(module) == {"workflow"}


def test_few_modules_at_the_top_and_every_folder_says_what_it_holds():
    top = [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for folder in (path for path in PACKAGE.iterdir() if path.is_dir() and not path.name.startswith("__")):
        docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
        assert "Imports" in docstring or "import" in docstring, f"{folder.name}/__init__.py says what it may import"


def test_no_module_name_is_used_twice_or_shadows_the_standard_library():
    names = [path.stem for path in modules() if path.name != "__init__.py"]
    names += [path.name for path in PACKAGE.iterdir() if path.is_dir() and not path.name.startswith("__")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
    assert sorted(set(names) & set(sys.stdlib_module_names)) == []


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_modules_and_functions_are_small(path):
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            count = len(arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
            count -= bool(arguments.args and arguments.args[0].arg in ("self", "cls"))
            assert count <= MAX_PARAMETERS, f"{node.name} takes {count} parameters"
