"""Plugins' nn modules read as text, so that generated files copy their blocks too.

A plugin's nn module is parsed with :mod:`ast` and :mod:`symtable`, never imported, as
``skipgen/nn`` is (see :mod:`skipgen.library.nn`). Its imports from ``skipgen.nn``
name built-in definitions, its imports from its own package are followed, and every other
import is copied. What cannot be copied that way is a :class:`SpecError` at the plugin's
file and line.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import symtable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from skipgen.errors import Diagnostic, SpecError
from skipgen.library.nn import (
    DEFINING_NODES,
    Definition,
    Library,
    defined_names,
    keyword_defaults,
    library,
    statement_lines,
)

_SKIPGEN_NN = "skipgen.nn"
_BUILTINS = frozenset(dir(builtins))

# The nn blocks of every loaded plugin: class name -> (plugin name, "module:Class"). The
# plugin loader (skipgen.kinds.plugins) records them here, below the kinds and the
# lowering, which read the blocks' signatures.
_LOADED_BLOCKS: dict[str, tuple[str, str]] = {}


def record_blocks(plugin: str, refs: list[str]) -> None:
    """Record the nn blocks (``"module:Class"``) of the loaded plugin ``plugin``."""
    for ref in refs:
        _LOADED_BLOCKS[ref.partition(":")[2]] = (plugin, ref)


def loaded_blocks() -> dict[str, tuple[str, str]]:
    """The nn blocks of every loaded plugin: class name -> (plugin name, "module:Class")."""
    return dict(_LOADED_BLOCKS)


def _plugin_error(
    plugin: str, file: str, node: ast.AST | None, message: str, hint: str
) -> SpecError:
    line, col = (
        (node.lineno, node.col_offset + 1) if isinstance(node, ast.stmt | ast.expr) else (1, 1)
    )
    return SpecError([Diagnostic(file, line, col, f"plugin {plugin!r}: {message}", hint)])


def _origin(plugin: str, module: str) -> str:
    """The file of ``module``, found without importing it (its parent packages are)."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        found, reason = None, f"{type(exc).__name__}: {exc}"
    else:
        reason = "no such module"
    if found is None or not found.origin or not found.origin.endswith(".py"):
        raise _plugin_error(
            plugin,
            "<plugin>",
            None,
            f"cannot find the source of {module!r} ({reason})",
            "an nn block must live in a .py file of the plugin's package",
        )
    return found.origin


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    """The module an import reads from, relative imports resolved; None if it cannot be."""
    if node.level == 0:
        return node.module
    package = module if is_package else module.rpartition(".")[0]
    try:
        return importlib.util.resolve_name("." * node.level + (node.module or ""), package)
    except ImportError:
        return None


@dataclass
class _PluginReader:
    """Reads a plugin's nn module, and the modules of its package it imports from."""

    plugin: str
    package: str  # the top-level package: imports from it are followed
    definitions: dict[str, Definition]
    imports: dict[str, tuple[str, str | None, str | None]]
    known: set[str]  # every name a definition may read: its own, imported, from skipgen.nn
    pending: list[tuple[str, str, ast.stmt, set[str]]]  # (file, name, node, globals read)

    def read(self, module: str, todo: list[str]) -> None:
        file = _origin(self.plugin, module)
        text = Path(file).read_text(encoding="utf-8")
        tree = ast.parse(text, filename=file)
        reads = _global_reads(symtable.symtable(text, file, "exec"))
        lines = text.splitlines()
        is_package = file.endswith("__init__.py")
        for i, node in enumerate(tree.body):
            if isinstance(node, ast.Import | ast.ImportFrom):
                self.imported(file, module, is_package, node, todo)
            elif i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # the module docstring
            else:
                self.define(file, node, lines, reads)

    def imported(
        self,
        file: str,
        module: str,
        is_package: bool,
        node: ast.Import | ast.ImportFrom,
        todo: list[str],
    ) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in (self.package, "skipgen"):
                    raise self.error(
                        file,
                        node,
                        "cannot copy `import` of a package's module",
                        "import the names: `from module import name`",
                    )
                self.bind(
                    file,
                    node,
                    alias.asname or alias.name.split(".")[0],
                    (alias.name if alias.asname else alias.name.split(".")[0], None, alias.asname),
                )
            return
        source = _absolute(node, module, is_package)
        if source is None:
            raise self.error(
                file,
                node,
                "cannot follow this relative import",
                "import from a module of the plugin's package",
            )
        if source == "__future__":
            return
        for alias in node.names:
            if alias.name == "*":
                raise self.error(
                    file, node, "cannot copy a star import", "import each name it uses"
                )
            local = alias.asname or alias.name
            if source == _SKIPGEN_NN or source.startswith(_SKIPGEN_NN + "."):
                if alias.asname or alias.name not in library().definitions:
                    raise self.error(
                        file,
                        node,
                        f"cannot copy {alias.name!r} from {source}",
                        "import skipgen.nn's blocks and helpers by their own names",
                    )
                self.known.add(local)
            elif source.split(".")[0] == self.package:
                if alias.asname:
                    raise self.error(
                        file,
                        node,
                        f"cannot copy {alias.name!r} under another name",
                        "import it by its own name",
                    )
                todo.append(source)  # the name is defined there
            else:
                self.bind(file, node, local, (source, alias.name, alias.asname))

    def bind(
        self, file: str, node: ast.stmt, name: str, target: tuple[str, str | None, str | None]
    ) -> None:
        builtin = library().imports.get(name)
        if builtin is not None and builtin != target:
            raise self.error(
                file,
                node,
                f"imports {name!r} other than skipgen.nn does",
                f"import it as skipgen.nn does: {_import_line(builtin)}",
            )
        self.imports[name] = target
        self.known.add(name)

    def define(
        self, file: str, node: ast.stmt, lines: list[str], reads: dict[str, set[str]]
    ) -> None:
        names = defined_names(node)
        if not names:
            raise self.error(
                file,
                node,
                "cannot copy this top-level statement",
                "keep only imports, classes, functions and constants at the top level",
            )
        if any(n.startswith("__") for n in names):
            return
        for name in names:
            if name in library().definitions or name in self.definitions:
                raise self.error(
                    file,
                    node,
                    f"{name!r} is defined twice (here and in skipgen.nn or the plugin)",
                    "rename it",
                )
        refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        order = len(library().definitions) + len(self.definitions)
        definition = Definition(
            names, statement_lines(node, lines), refs, order, keyword_defaults(node)
        )
        for name in names:
            self.definitions[name] = definition
            self.known.add(name)
        globals_read = reads.get(names[0], set()) if isinstance(node, DEFINING_NODES) else set(refs)
        self.pending.append((file, names[0], node, globals_read))

    def check_names(self) -> None:
        for file, _, node, reads in self.pending:
            for name in sorted(reads - self.known - _BUILTINS):
                used = next(n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name)
                raise self.error(
                    file,
                    used,
                    f"cannot resolve the name {name!r}",
                    "define or import it at the top of the module",
                )

    def error(self, file: str, node: ast.AST, message: str, hint: str) -> SpecError:
        return _plugin_error(self.plugin, file, node, message, hint)


def _import_line(target: tuple[str, str | None, str | None]) -> str:
    module, member, alias = target
    suffix = f" as {alias}" if alias else ""
    return f"from {module} import {member}{suffix}" if member else f"import {module}{suffix}"


def _global_reads(table: symtable.SymbolTable) -> dict[str, set[str]]:
    """For each top-level function and class, the module-level names its body reads."""

    def reads(scope: symtable.SymbolTable) -> set[str]:
        found = {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
        return found.union(*(reads(child) for child in scope.get_children()))

    return {child.get_name(): reads(child) for child in table.get_children()}


@cache
def plugin_library(plugin: str, module: str) -> Library:
    """The definitions and imports of a plugin's nn ``module``, checked to be copyable.

    Raises :class:`SpecError` at the plugin's file and line for what cannot be copied.
    """
    reader = _PluginReader(plugin, module.split(".")[0], {}, {}, set(), [])
    todo, seen = [module], set()
    while todo:
        current = todo.pop(0)
        if current not in seen:
            seen.add(current)
            reader.read(current, todo)
    reader.check_names()
    return Library(reader.definitions, reader.imports)


def plugin_definition(name: str) -> Definition | None:
    """The definition of a loaded plugin's block ``name``; None if it cannot be copied (the
    emitter reports why)."""
    found = loaded_blocks().get(name)
    if found is None:
        return None
    plugin, ref = found
    try:
        return plugin_library(plugin, ref.partition(":")[0]).definitions.get(name)
    except SpecError:
        return None


def signature_defaults(name: str) -> dict[str, Any]:
    """The literal keyword defaults of the block or helper ``name``: of skipgen.nn, or of a
    loaded plugin's nn module (none for other names, or a module that cannot be copied)."""
    definition = library().definitions.get(name) or plugin_definition(name)
    return dict(definition.defaults) if definition is not None else {}


def library_for(targets: set[str]) -> Library:
    """skipgen.nn with the nn modules of the plugins whose blocks ``targets`` name."""
    base = library()
    definitions, imports = dict(base.definitions), dict(base.imports)
    blocks = loaded_blocks()
    for target in sorted(targets - base.definitions.keys()):
        if target not in blocks:
            continue  # closure() reports it
        plugin, ref = blocks[target]
        extra = plugin_library(plugin, ref.partition(":")[0])
        definitions.update(extra.definitions)
        imports.update(extra.imports)
    return Library(definitions, imports)
