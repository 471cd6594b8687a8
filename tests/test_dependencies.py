"""Code imports only what pyproject.toml declares.

A module that happens to be installed (pulled in by another package, or left over on a
developer's machine) passes every test locally and then fails on a fresh machine. This test
reads every import in the package and in the tests and maps it to the distribution that
provides it: the package may use only its dependencies, the tests also the test extras.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN = {"skipgen", "tests", "__future__"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, f"cannot read the requirement {requirement!r}"
    return _canonical(match.group())


@cache
def _declared() -> tuple[frozenset[str], frozenset[str]]:
    """What the package may import (its dependencies and its extras other than the test
    extras, which it imports only when a feature needs them), and what the tests may."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = frozenset(map(_requirement_name, project["dependencies"]))
    extras = dict(project["optional-dependencies"])
    test = frozenset(map(_requirement_name, extras.pop("test")))
    optional = frozenset(_requirement_name(r) for reqs in extras.values() for r in reqs)
    assert optional <= test, "the test extras must include every extra, so CI tests them"
    return runtime | optional, runtime | test


def _imports(path: Path) -> set[str]:
    """Top-level module names imported by ``path``, including ``pytest.importorskip``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value.split(".")[0])
    return found - OWN - set(sys.stdlib_module_names)


# The script that measures the reference facts runs by hand, where the references are
# installed; neither the package nor its tests need them.
MEASURING = {"tests/reference/measure.py": {"torchvision"}}


def _undeclared(folder: str, allowed: frozenset[str]) -> list[str]:
    providers = metadata.packages_distributions()
    problems = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "golden" in path.parts:
            continue  # generated modules: they import only torch, checked by their own tests
        measured = MEASURING.get(path.relative_to(ROOT).as_posix(), set())
        for module in sorted(_imports(path) - measured):
            dists = {_canonical(d) for d in providers.get(module, [])}
            if not dists & allowed:
                where = path.relative_to(ROOT)
                got = ", ".join(sorted(dists)) or "no installed distribution"
                problems.append(f"{where}: imports {module!r} ({got}), not declared")
    return problems


def test_the_package_imports_only_its_dependencies() -> None:
    allowed, _ = _declared()
    assert _undeclared("skipgen", allowed) == []


def test_the_tests_import_only_dependencies_and_test_extras() -> None:
    _, with_tests = _declared()
    assert _undeclared("tests", with_tests) == []


@pytest.mark.parametrize("module", ["click", "numpy", "torchvision"])
def test_an_undeclared_import_is_caught(tmp_path: Path, module: str) -> None:
    (tmp_path / "probe.py").write_text(f"import {module}\n")
    assert _imports(tmp_path / "probe.py") == {module}
    _, with_tests = _declared()
    dists = {_canonical(d) for d in metadata.packages_distributions().get(module, [])}
    assert not dists & with_tests
