"""The copied library, specialised for one network: each definition the network needs,
simplified for the arguments all its uses pass (:mod:`skipgen.backends.simplify`).

Definitions are taken callers first, so that a definition's uses are all known when it is
simplified: the network class and the composite blocks' classes (read, not edited) call
blocks, blocks call helpers. A parameter that no use spells out is fixed at its default; a
parameter the uses pass keeps its place and folds only where all the values passed agree.
A definition that is passed on (not called), or that calls itself, stays general.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from skipgen.backends import rewrite as rw
from skipgen.backends.fold import Values, printable
from skipgen.backends.library_view import Callee, LibraryView, Use
from skipgen.backends.simplify import Round, simplify


def _callers_first(lib: LibraryView) -> list[str]:
    """Every library name, each before the names it reads (cycles broken by name)."""
    done: set[str] = set()
    order: list[str] = []

    def visit(name: str) -> None:
        done.add(name)
        for ref in sorted(lib.refs[name]):
            if ref not in done:
                visit(ref)
        order.append(name)

    for name in sorted(lib.texts):
        if name not in done:
            visit(name)
    return order[::-1]


def _union(callee: Callee | None, uses: list[Use]) -> tuple[dict[str, Values], dict[str, str]]:
    """What the uses pass for each parameter, and the parameters none of them spells out."""
    if callee is None or not uses or any(use.binding is None for use in uses):
        return {}, {}
    known: dict[str, Values] = {}
    fixed: dict[str, str] = {}
    for param in callee.params:
        values = [use.binding[param.name] for use in uses if use.binding is not None]
        merged: Values = frozenset()
        for value in values:
            merged = None if value is None or merged is None else merged | value
        known[param.name] = merged
        text = printable(merged)
        if text is not None and not any(param.name in use.passed for use in uses):
            fixed[param.name] = text
    return known, fixed


def specialise(
    lib: LibraryView, entries: list[str], roots: set[str], late_roots: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The definitions that ``entries`` (class texts) and ``roots`` need, by name, each
    simplified for its uses, callers first; what only ``late_roots`` (the fuse helpers)
    need comes last, when every class of the file is known."""
    uses: dict[str, list[Use]] = defaultdict(list)
    needed = set(roots)
    for text in entries:
        entry = Round(lib, "", text, {}, {}, (), readonly=True)
        entry.run()
        needed |= entry.names
        for use in entry.uses:
            uses[use.callee].append(use)
    final: dict[str, str] = {}
    early = lib.reachable(needed - late_roots)
    late = lib.reachable(set(late_roots)) - early
    order = _callers_first(lib)
    order = [n for n in order if n not in late] + [n for n in order if n in late]
    declared = False
    for name in order:
        if name not in needed:
            continue
        if name in late and not declared:  # the fuse helpers: the classes are all known
            lib.declare(entries + [text for n, text in final.items() if n not in late])
            declared = True
        if name in lib.recursive:
            uses[name].append(Use(name, None))
        known, fixed = _union(lib.callees.get(name), uses[name])
        result = simplify(lib, name, lib.texts[name], known, fixed)
        final[name] = summary_docstring(result.text)
        needed |= result.names
        for use in result.uses:
            uses[use.callee].append(use)
    return final


def summary_docstring(text: str) -> str:
    """A helper function keeps its docstring's first paragraph, as torchvision's helpers
    have one line: what it does, not how (the library itself keeps the rest)."""
    node = ast.parse(text).body[0]
    if not isinstance(node, ast.FunctionDef):
        return text
    source = rw.Text(text)
    edit = rw.docstring_without(node, source, set(), keep_summary_only=True)
    return text if edit is None else rw.apply(text, [edit])


def reads(text: str) -> set[str]:
    """Every name ``text`` mentions."""
    return {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}


def arrange(
    final: dict[str, str],
    order: dict[str, int],
    entry_names: set[str],
    late: frozenset[str],
) -> tuple[list[str], list[str]]:
    """The texts to write before the network class (what its blocks need, each after what
    it reads) and after it (what only ``late`` needs: the fuse helpers, each before what
    it calls, in the order a reader meets them from the network's ``fuse``)."""
    refs = {name: (reads(text) & set(final)) - {name} for name, text in final.items()}
    early: set[str] = set()
    todo = [n for n in entry_names - late if n in final]
    while todo:
        name = todo.pop()
        if name not in early:
            early.add(name)
            todo.extend(refs[name])
    ordered: list[str] = []
    while len(ordered) < len(final):
        rest = sorted((n for n in final if n not in ordered), key=lambda n: order[n])
        ready = [n for n in rest if refs[n] <= set(ordered)] or rest
        ordered.append(ready[0])
    before = [final[n] for n in ordered if n in early]
    after = [final[n] for n in reversed(ordered) if n not in early]
    return list(dict.fromkeys(before)), list(dict.fromkeys(after))
