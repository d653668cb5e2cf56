"""The insta_rs source files a step script depends on, found by following its imports.

The workflow declares them as a rule's inputs, so that an edit to any module a step imports, directly or
through other modules, re-runs the step. Imports are read with :mod:`ast` (nothing is executed), so the
rule files can call this while parsing. A string constant that names an insta_rs module (``"insta_rs.x.y"``)
counts as an import: registries name the modules they load on demand (:mod:`insta_rs.training.methods`); a
registry read by many steps names its modules otherwise, and the rule that loads one names it
(:func:`code_inputs`' ``modules``: each sound mode's certificate depends on its own module only).
Imports under ``if TYPE_CHECKING:`` are not: they never run, so they change no step's behaviour.
:data:`NOT_CODE` modules check results and compute none: they, and what only they import, are no step's code.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path
from typing import Iterator, Sequence

PACKAGE = "insta_rs"
NOT_CODE = ("insta_rs.workflow.integrity",)  # every step runs through it (insta_rs.workflow.integrity.run_step); it computes nothing


@functools.lru_cache(maxsize=None)
def package_sources(script: str, package_dir: str, modules: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Sorted paths of the insta_rs modules (package ``__init__`` files included) that ``script`` imports,
    directly or through each other, as files below ``package_dir`` (the workflow's own ``src/insta_rs``,
    which need not be the installed copy); with ``modules`` (dotted names the script loads by name from a
    registry), those modules and what they import too."""
    root = Path(package_dir).resolve()
    found = {source for module in modules for source in _sources_of(module, root)}
    todo = [Path(script).resolve(), *found]
    while todo:
        for module in _imported_modules(todo.pop(), root):
            for source in _sources_of(module, root):
                if source not in found:
                    found.add(source)
                    todo.append(source)
    return tuple(sorted(str(path) for path in found))


def _imported_modules(path: Path, root: Path) -> Iterator[str]:
    """Dotted names that the source file ``path`` imports; for ``from a import b``, both ``a`` and ``a.b``
    (``b`` may be a module). Relative imports are resolved against the file's package below ``root``."""
    package = _package_of(path, root)
    for node in _executed_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name not in NOT_CODE)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # "." is the file's package, ".." its parent, ...
                parents = package.split(".")
                base = ".".join(parents[:len(parents) - node.level + 1] + ([node.module] if node.module else []))
            if base in NOT_CODE:
                continue
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" not in NOT_CODE)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(f"{PACKAGE}."):
            yield node.value


def _executed_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` is kept)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _package_of(path: Path, root: Path) -> str:
    """The dotted package a source file below ``root`` (insta_rs) belongs to ("" for a file outside it)."""
    if not path.is_relative_to(root):
        return ""
    return ".".join([PACKAGE, *path.relative_to(root).parent.parts])


def _sources_of(module: str, root: Path) -> list[Path]:
    """The files that importing the insta_rs module ``module`` runs: the ``__init__`` of every package on
    the way, and the module's own file. Empty for modules outside insta_rs or names that are not modules."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return []
    target = root.joinpath(*parts[1:])
    own = target / "__init__.py" if target.is_dir() else target.with_suffix(".py")
    if not own.is_file():
        return []
    inits = [root.joinpath(*parts[1:depth], "__init__.py") for depth in range(1, len(parts))]
    return [path for path in inits if path.is_file()] + [own]


def relative(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (so that moving the checkout, with its
    results, changes no input path), else as given."""
    below = os.path.relpath(path)
    return path if below.startswith("..") else below


def code_inputs(basedir: str, script: str, modules: Sequence[str] = ()) -> list[str]:
    """The rule inputs of ``<basedir>/scripts/<script>``'s code (with the ``modules`` it loads by name):
    :func:`package_sources` below ``<basedir>/src/insta_rs``, so that an edit re-runs the step (``snakemake
    --touch`` accepts a cosmetic one)."""
    return [relative(path) for path in package_sources(os.path.join(basedir, "scripts", script),
                                                       os.path.join(basedir, "src", PACKAGE), tuple(modules))]


def package_data(basedir: str, name: str) -> str:
    """The rule input of a data file shipped in the package (e.g. the paper's numbers)."""
    return relative(os.path.join(basedir, "src", PACKAGE, name))
