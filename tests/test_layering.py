"""The package's imports flow one way: no import circle among its files, and the layers
that read a spec never import what turns it into torch or text.

Every ``import`` counts: at module level, inside a function, or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "skipgen"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of skipgen that defines ``name`` (a module, or a name in one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """The modules of skipgen that ``module`` imports, anywhere in its text."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                found.add(_owner(f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Import):
            found.update(_owner(alias.name) for alias in node.names)
    return {name for name in found if name and name != module}


GRAPH = {module: _imports(module) for module in MODULES}


def _circle_through(start: str) -> list[str] | None:
    """A chain of imports from ``start`` back to itself, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, chain = stack.pop()
        for imported in sorted(GRAPH[module]):
            if imported == start:
                return [*chain, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*chain, imported]))
    return None


def test_no_file_imports_itself_through_others() -> None:
    circles = {m: c for m in sorted(GRAPH) if (c := _circle_through(m)) is not None}
    assert circles == {}


def test_the_layers_that_read_a_spec_never_import_the_backends() -> None:
    reading = ("skipgen.language", "skipgen.kinds", "skipgen.composite", "skipgen.ir")
    above = ("skipgen.backends", "skipgen.commands", "skipgen.api", "skipgen.cli")
    wrong = {
        module: sorted(i for i in imported if i.startswith(above))
        for module, imported in GRAPH.items()
        if module.startswith(reading) and any(i.startswith(above) for i in imported)
    }
    assert wrong == {}


def test_the_library_imports_nothing_of_skipgen_but_its_errors() -> None:
    library = {m: i for m, i in GRAPH.items() if m.startswith("skipgen.library")}
    assert library  # the package exists where this test looks
    outside = {
        module: sorted(i for i in imported if not i.startswith("skipgen.library"))
        for module, imported in library.items()
    }
    assert all(imported == [] or imported == ["skipgen.errors"] for imported in outside.values())
