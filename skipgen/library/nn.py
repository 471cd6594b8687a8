"""The block library: ``skipgen/nn`` read as text, so that generated files can copy it.

Each top-level definition is parsed with :mod:`ast` (never imported: building source must
not import torch), together with the names it uses, so that the emitter copies exactly the
classes and helpers a network needs, each after what it depends on, and the imports they
need, sorted as isort sorts them.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

# Names the network class itself uses, and how to import them when the blocks do not.
_BASE_IMPORTS = {
    "torch": ("torch", None, None),
    "nn": ("torch", "nn", None),
    "Tensor": ("torch", "Tensor", None),
    "partial": ("functools", "partial", None),  # a norm_layer with arguments bound
}


@dataclass(frozen=True)
class LayerDefault:
    """A signature's default that is a torch layer class, such as ``nn.BatchNorm2d``."""

    target: str


class SourceError(RuntimeError):
    """The block library cannot be copied (an internal error, not a problem in a spec)."""


@dataclass(frozen=True)
class Definition:
    """One top-level statement of ``skipgen/nn`` that defines names."""

    names: tuple[str, ...]
    text: str  # the statement's source lines, with its decorators and leading comments
    refs: frozenset[str]  # every name it mentions (library names, imports, builtins...)
    order: int  # position in the library: files in dependency order, then line order
    # the keyword defaults of its signature (a class's ``__init__``) that are literals
    defaults: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Library:
    definitions: dict[str, Definition]  # by each defined name
    imports: dict[str, tuple[str, str | None, str | None]]  # name -> (module, member, alias)


def _files() -> list[tuple[str, str]]:
    """``(module name, text)`` of every file of ``skipgen/nn`` except the package init."""
    folder = resources.files("skipgen").joinpath("nn")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".py") and name != "__init__.py":
            found.append((name[:-3], entry.read_text(encoding="utf-8")))
    return sorted(found)


def _file_order(modules: dict[str, ast.Module]) -> list[str]:
    """Files ordered so that each comes after the files it imports from (then by name)."""
    deps = {
        name: {
            node.module.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
        & modules.keys()
        for name, tree in modules.items()
    }
    order: list[str] = []
    while len(order) < len(modules):
        ready = sorted(n for n in modules if n not in order and deps[n] <= set(order))
        if not ready:  # an import cycle: fall back to the name order for the rest
            ready = sorted(n for n in modules if n not in order)
        order.append(ready[0])
    return order


DEFINING_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def statement_lines(node: ast.stmt, lines: list[str]) -> str:
    decorators = node.decorator_list if isinstance(node, DEFINING_NODES) else []
    start = min([node.lineno] + [d.lineno for d in decorators]) - 1
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1  # keep a comment written right above the definition
    end = node.end_lineno or node.lineno
    return "\n".join(lines[start:end])


def defined_names(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, DEFINING_NODES):
        return (node.name,)
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return ()
    if not all(isinstance(t, ast.Name) for t in targets):
        return ()
    return tuple(t.id for t in targets if isinstance(t, ast.Name))


def _signature(node: ast.stmt) -> ast.arguments | None:
    """The parameters of a function, or of a class's ``__init__``."""
    if isinstance(node, ast.ClassDef):
        inits = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
        return inits[0].args if inits else None
    return node.args if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def keyword_defaults(node: ast.stmt) -> tuple[tuple[str, Any], ...]:
    """The parameters of ``node``'s signature that have a literal default, with it."""
    args = _signature(node)
    if args is None:
        return ()
    positional = [*args.posonlyargs, *args.args]
    pairs = [*zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)]
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
    found = []
    for arg, default in pairs:
        if _is_nn_layer(default):  # a layer class, such as ``norm_layer=nn.BatchNorm2d``
            found.append((arg.arg, LayerDefault(ast.unparse(default))))
            continue
        try:
            found.append((arg.arg, ast.literal_eval(default)))
        except ValueError:
            continue  # not a literal: a call always spells such an argument out
    return tuple(found)


def _is_nn_layer(node: ast.expr) -> bool:
    """Whether ``node`` is ``nn.<Name>``."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "nn"
    )


@lru_cache(maxsize=1)
def library() -> Library:
    """Parse ``skipgen/nn``: its top-level definitions and the imports they rely on."""
    texts = dict(_files())
    trees = {
        name: ast.parse(text, filename=f"skipgen/nn/{name}.py") for name, text in texts.items()
    }
    definitions: dict[str, Definition] = {}
    imports: dict[str, tuple[str, str | None, str | None]] = dict(_BASE_IMPORTS)
    inherits: dict[str, str] = {}  # a class without __init__ -> its first base
    order = 0
    for module in _file_order(trees):
        lines = texts[module].splitlines()
        for i, node in enumerate(trees[module].body):
            where = f"skipgen/nn/{module}.py:{node.lineno}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else bound
                    imports[bound] = (target, None, alias.asname)
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module and node.module != "__future__":
                    for alias in node.names:
                        imports[alias.asname or alias.name] = (
                            node.module,
                            alias.name,
                            alias.asname,
                        )
                continue  # relative imports name other definitions of the library
            if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # the module docstring
            names = defined_names(node)
            if not names:
                raise SourceError(f"{where}: cannot copy this top-level statement")
            if any(n.startswith("__") for n in names):
                continue  # __all__ and the like stay behind
            refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            text = statement_lines(node, lines)
            definition = Definition(names, text, refs, order, keyword_defaults(node))
            if isinstance(node, ast.ClassDef) and _signature(node) is None and node.bases:
                inherits[node.name] = ast.unparse(node.bases[0])
            order += 1
            for name in names:
                if name in definitions:
                    raise SourceError(f"{where}: {name!r} is defined twice in skipgen/nn")
                definitions[name] = definition
    for name, base in inherits.items():  # a base comes earlier: its defaults are known
        if base in definitions:
            defaults = definitions[base].defaults
            definitions[name] = dataclasses.replace(definitions[name], defaults=defaults)
    return Library(definitions, imports)


# What the network class may import beyond the blocks' imports: for named children.
NETWORK_IMPORTS: dict[str, tuple[str, str | None, str | None]] = {
    "OrderedDict": ("collections", "OrderedDict", None),
    "Any": ("typing", "Any", None),  # a group that forward indexes more than one level down
    "ClassVar": ("typing", "ClassVar", None),  # the network's conv_norm_pairs
}


def library_names() -> frozenset[str]:
    """Every name a generated file may define or import besides the network class."""
    lib = library()
    return frozenset(lib.definitions) | frozenset(lib.imports) | frozenset(NETWORK_IMPORTS)


def closure(targets: set[str], lib: Library | None = None) -> list[Definition]:
    """The definitions ``targets`` need, each after the definitions it uses."""
    lib = lib or library()
    needed: dict[int, Definition] = {}
    todo = sorted(targets)
    while todo:
        name = todo.pop()
        definition = lib.definitions.get(name)
        if definition is None:
            raise SourceError(f"internal error: skipgen/nn defines no {name!r}")
        if definition.order in needed:
            continue
        needed[definition.order] = definition
        todo.extend(sorted(r for r in definition.refs if r in lib.definitions))
    # A stable topological sort: among the ready definitions, the earliest in the library.
    deps = {
        d.order: {lib.definitions[r].order for r in d.refs if r in lib.definitions} - {d.order}
        for d in needed.values()
    }
    done: set[int] = set()
    ordered: list[Definition] = []
    while len(ordered) < len(needed):
        ready = [o for o in sorted(needed) if o not in done and deps[o] <= done]
        if not ready:  # mutual recursion: order among the rest does not matter at runtime
            ready = [o for o in sorted(needed) if o not in done]
        done.add(ready[0])
        ordered.append(needed[ready[0]])
    return ordered


# -- imports ------------------------------------------------------------------------------


def _member_key(name: str) -> tuple[int, str, str]:
    """isort's ``order-by-type``: CONSTANTS, then Classes, then everything else."""
    if len(name) > 1 and name.isupper():
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, name.lower(), name


def import_sections(used: set[str], lib: Library | None = None) -> list[list[str]]:
    """The import lines for ``used`` names, grouped and sorted as isort (ruff ``I``) wants."""
    lib = lib or library()
    straight: dict[bool, set[str]] = {True: set(), False: set()}
    members: dict[bool, dict[str, set[str]]] = {True: {}, False: {}}
    for name in sorted(used):
        if name not in lib.imports:
            continue
        module, member, alias = lib.imports[name]
        stdlib = module.split(".")[0] in sys.stdlib_module_names
        if member is None:
            straight[stdlib].add(f"import {module}" + (f" as {alias}" if alias else ""))
        else:
            entry = member + (f" as {alias}" if alias else "")
            members[stdlib].setdefault(module, set()).add(entry)
    sections = []
    for stdlib in (True, False):
        lines = sorted(straight[stdlib], key=lambda s: (s.split()[1].lower(), s))
        for module in sorted(members[stdlib], key=lambda m: (m.lower(), m)):
            names = sorted(members[stdlib][module], key=_member_key)
            lines.append(f"from {module} import {', '.join(names)}")
        if lines:
            sections.append(lines)
    return sections
