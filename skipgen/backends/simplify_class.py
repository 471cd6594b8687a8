"""The parts of a simplifying round that concern a definition as a whole: a class's
``__init__`` and what it tells of ``self``, and the signature (see
:mod:`skipgen.backends.simplify`)."""

from __future__ import annotations

import ast
from abc import abstractmethod
from functools import lru_cache

from skipgen.backends import rewrite as rw
from skipgen.backends.fold import Lit, Values, path_text, printable
from skipgen.backends.simplify_expr import ExpressionWalk
from skipgen.backends.text import string_literal


@lru_cache(maxsize=8192)
def stored(node: ast.AST) -> dict[str, int]:
    """How often each local name (and ``self.x``) is assigned in ``node`` (not to be
    changed: the answer is kept for the next question about the same node)."""
    counts: dict[str, int] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            counts[sub.id] = counts.get(sub.id, 0) + 1
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
            path = path_text(sub)
            if path and path.startswith("self."):
                counts[path] = counts.get(path, 0) + 1
        elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            counts[sub.target.id] = counts.get(sub.target.id, 0) + 1
    return counts


@lru_cache(maxsize=8192)
def loads(node: ast.AST) -> frozenset[str]:
    return frozenset(
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    )


def _name(item: rw.Item) -> str:
    arg = item[0]
    assert isinstance(arg, ast.arg)
    return arg.arg


def _removable(fn: ast.FunctionDef, name: str) -> bool:
    """Whether a parameter can leave the signature: nothing reads it any more, or the
    body assigns it before anything reads it."""
    if name not in stored(fn):
        return name not in loads(fn)
    for stmt in fn.body:
        if name in loads(stmt) or name in stored(stmt):
            return (
                isinstance(stmt, ast.Assign)
                and [path_text(t) for t in stmt.targets] == [name]
                and name not in loads(stmt)
            )
    return True


def all_args(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return found + [a for a in (args.vararg, args.kwarg) if a is not None]


class DefinitionWalk(ExpressionWalk):
    """What a round does with a class and with a signature."""

    name: str
    node: ast.stmt
    known: dict[str, Values]
    fixed: dict[str, str]
    attrs: dict[str, int]
    init_attrs: dict[str, int]
    facts: dict[str, Values]
    attr_subst: dict[str, str]
    in_init: bool

    @abstractmethod
    def function(
        self,
        fn: ast.FunctionDef,
        env: dict[str, Values],
        construction: bool,
        params: dict[str, Values],
    ) -> None: ...

    @abstractmethod
    def delete(self, stmts: list[ast.stmt]) -> None: ...

    def klass(self, node: ast.ClassDef) -> None:
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
        init = next((m for m in methods if m.name == "__init__"), None)
        self.attrs = {k: v for k, v in stored(node).items() if k.startswith("self.")}
        self.init_attrs = stored(init) if init is not None else {}
        if init is not None:
            self.in_init = True
            self.function(init, dict(self.known), self.name not in self.lib.runtime, self.known)
            self.in_init = False
            self.signature(init, node)
        for method in methods:
            if method is not init:
                self.function(method, dict(self.facts), False, {})

    def attribute(self, key: str, values: Values, stmt: ast.stmt, top: bool) -> None:
        """``self.x = ...`` in ``__init__``: what ``self.x`` may hold in the other methods
        when only ``__init__`` assigns it; written as its value when that is known and
        this is its only assignment, at the top of ``__init__``."""
        if self.attrs.get(key) != self.init_attrs.get(key):
            return
        before = self.facts.get(key, frozenset())
        self.facts[key] = None if values is None or before is None else before | values
        text = printable(values)
        if not top or self.attrs.get(key) != 1 or self.reads_tainted(stmt):
            return
        attr = key.split(".", 1)[1]
        if text is None or attr in self.lib.foreign_attrs or self.name in self.lib.subclassed:
            return
        self.attr_subst[key] = self.subst[key] = text
        read = any(
            isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and path_text(n) == key
            for n in ast.walk(self.node)
        )
        if not read:  # once every read is written as the value
            self.delete([stmt])

    def signature(self, fn: ast.FunctionDef, owner: ast.AST) -> None:
        """Parameters that every use leaves at their default leave the signature."""
        params = rw.parameters(fn.args)
        removed = [p for p in params if _name(p) in self.fixed and _removable(fn, _name(p))]
        names = {_name(p) for p in params if p not in removed}
        gone = set(self.fixed) - names
        doc = rw.docstring_without(owner, self.src, gone)
        if doc is not None:
            self.edit(doc)
        for item in params:
            self.narrow_annotation(*item)
        if not removed:
            return
        for edit in rw.remove_items(self.src, params, removed):
            self.edit(edit)
        star = rw.star_marker_line(self.src, fn.args, gone)
        if star is not None:
            self.edit(rw.Edit(*self.src.lines_span(star, star), ""))

    def narrow_annotation(self, arg: ast.AST, default: ast.AST) -> None:
        """A parameter that every use passes a ``str`` (or ``int``, ...) is annotated so:
        type checkers then follow the branches its values decided."""
        assert isinstance(arg, ast.arg)
        values = self.known.get(arg.arg)
        if arg.annotation is None or not values or arg.arg in self.fixed:
            return
        found = set(values)
        unused_default: ast.expr | None = None  # a default that no use takes
        if default is not arg:
            assert isinstance(default, ast.expr)
            defaults = self.lib.evaluator({}).values(default) or {Lit(object())}
            types = {type(v.value) for v in found if isinstance(v, Lit)}
            same = all(isinstance(v, Lit) and type(v.value) in types for v in defaults)
            if defaults & found or same or not all(isinstance(v, Lit) for v in defaults):
                found |= defaults
            else:  # a default of another type (None) that no use takes
                unused_default = default
        kinds = {type(v.value).__name__ if isinstance(v, Lit) else "" for v in found}
        kind = kinds.pop()
        if kinds or kind not in ("str", "int", "float", "bool"):
            return
        if self.src.segment(arg.annotation) in ("str", "int", "float", "bool"):
            return
        self.edit(rw.Edit(*self.src.span(arg.annotation), kind))
        if unused_default is not None:  # every use passes a value: any one of them will do
            first = min((v for v in found if isinstance(v, Lit)), key=lambda v: repr(v.value))
            value = first.value
            text = string_literal(value) if isinstance(value, str) else repr(value)
            self.edit(rw.Edit(*self.src.span(unused_default), text))
        line = self.src.lines[arg.lineno - 1]
        if "# noqa: UP0" in line and line.count("#") == 1:  # Optional[...] no more
            end = self.src.line_start(arg.lineno) + len(line)
            self.edit(rw.Edit(end - len(line) + line.index("  # noqa"), end, ""))
