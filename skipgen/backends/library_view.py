"""What the specialiser needs to know of the copied library: each definition's text and
signature, which ones run only while a network is built, and which attributes other
objects read."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from skipgen.backends.fold import Env, Evaluator, Values
from skipgen.library.nn import Library


@dataclass(frozen=True)
class Param:
    name: str
    default: ast.expr | None
    positional: bool  # may be passed by position


@dataclass(frozen=True)
class Callee:
    """A library function, or a class through its ``__init__`` (``self`` left out)."""

    name: str
    is_class: bool
    params: tuple[Param, ...]
    starred: bool  # takes *args or **kwargs: its calls are not bound here

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class Use:
    """A call of ``callee``: each parameter's possible values (None: unknown), ``passed``
    the parameters it spells out; ``binding`` None when the callee escapes (is passed on,
    or called in a way not followed here)."""

    callee: str
    binding: dict[str, Values] | None
    passed: frozenset[str] = frozenset()


@lru_cache(maxsize=512)
def parse_definition(text: str) -> ast.stmt:
    return ast.parse(text).body[0]


@dataclass(frozen=True)
class Facts:
    """What one definition's text says that the specialiser asks about often."""

    names: frozenset[str]  # every name it mentions
    attrs: frozenset[tuple[str, str]]  # (what, attribute) it reads, what not self
    runtime: frozenset[str]  # names that its methods other than __init__ read
    defines: frozenset[str]  # attributes and methods that its classes define
    bases: frozenset[str]  # the names its classes derive from


@lru_cache(maxsize=1024)
def facts(text: str) -> Facts:
    tree = ast.parse(text)
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    return Facts(
        names=frozenset(_names(tree)),
        attrs=frozenset(
            (n.value.id if isinstance(n.value, ast.Name) else "", n.attr)
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute)
            and not (isinstance(n.value, ast.Name) and n.value.id == "self")
        ),
        runtime=frozenset(
            name
            for node in classes
            for method in _methods(node)
            if method.name != "__init__"
            for name in _names(method)
        ),
        defines=frozenset(_class_attributes(classes)),
        bases=frozenset(b.id for node in classes for b in node.bases if isinstance(b, ast.Name)),
    )


def _init(node: ast.ClassDef) -> ast.FunctionDef | None:
    inits = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    return inits[0] if inits else None


def callee_of(node: ast.stmt) -> Callee | None:
    if isinstance(node, ast.ClassDef):
        init = _init(node)
        if init is None or node.decorator_list:
            return None
        return _callee(node.name, True, init.args, skip_self=True)
    if isinstance(node, ast.FunctionDef) and not node.decorator_list:
        return _callee(node.name, False, node.args, skip_self=False)
    return None


def _callee(name: str, is_class: bool, args: ast.arguments, skip_self: bool) -> Callee:
    positional = [*args.posonlyargs, *args.args][1 if skip_self else 0 :]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    params = [Param(a.arg, d, True) for a, d in zip(positional, defaults, strict=True)]
    params += [
        Param(a.arg, d, False) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    starred = args.vararg is not None or args.kwarg is not None
    return Callee(name, is_class, tuple(params), starred)


def _class_attributes(nodes: Iterable[ast.AST]) -> set[str]:
    """The names that classes among ``nodes`` define in their bodies, or on ``self``."""
    found: set[str] = set()
    for node in nodes:
        if not isinstance(node, ast.ClassDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.AnnAssign | ast.Assign):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                found |= {t.id for t in targets if isinstance(t, ast.Name)}
                found |= {t.attr for t in targets if isinstance(t, ast.Attribute)}
            elif isinstance(sub, ast.FunctionDef):
                found.add(sub.name)
    return found


def _isinstance_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "isinstance"
        and not node.keywords
    )


def _methods(node: ast.ClassDef) -> list[ast.FunctionDef]:
    return [n for n in node.body if isinstance(n, ast.FunctionDef)]


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class LibraryView:
    """The library as the specialiser reads it, with the texts that use it (``entries``:
    the network class and the composite blocks' classes)."""

    def __init__(self, lib: Library, entries: list[str]) -> None:
        self.texts = {name: d.text for name, d in lib.definitions.items()}
        self.cache: dict[tuple[object, ...], Any] = {}  # simplify's results
        self.absent: frozenset[str] = frozenset()  # see declare()
        self.nodes = {name: parse_definition(text) for name, text in self.texts.items()}
        self.names = frozenset(self.texts) | frozenset(lib.imports)
        self.callees = {
            name: c for name, node in self.nodes.items() if (c := callee_of(node)) is not None
        }
        known = set(self.texts)
        self.refs = {name: set(facts(text).names) & known for name, text in self.texts.items()}
        self.recursive = {name for name in self.texts if name in self.reachable(self.refs[name])}
        every = [facts(text) for text in [*set(self.texts.values()), *entries]]
        self.runtime = self._runtime(set().union(*(f.runtime for f in every)) & known)
        self.subclassed = set().union(*(f.bases for f in every))
        reads: set[tuple[str, str]] = set().union(*(f.attrs for f in every))
        self.foreign_attrs = {attr for what, attr in reads if what not in lib.imports}
        self.owned = set().union(*(facts(text).defines for text in set(self.texts.values())))

    def _runtime(self, todo: set[str]) -> set[str]:
        """Library names that run after the network is built: those that a method other
        than ``__init__`` reads (``todo``), and all that the functions among them read."""
        found: set[str] = set()
        while todo:
            name = todo.pop()
            if name in found:
                continue
            found.add(name)
            if not isinstance(self.nodes[name], ast.ClassDef):
                todo |= self.refs[name] - found
        return found

    def evaluator(self, env: Env) -> Evaluator:
        return Evaluator(env, self.names, self.absent)

    def reachable(self, start: set[str]) -> set[str]:
        """The library names ``start`` reads, and all they read in turn."""
        found: set[str] = set()
        todo = list(start)
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(self.refs.get(name, ()))
        return found

    def declare(self, texts: list[str]) -> None:
        """The classes of the file are ``texts``: an attribute that the library gives
        some class (``conv_norm_pairs``) and none of these does, no object has."""
        here = set().union(*(facts(text).defines for text in texts))
        self.absent = frozenset(self.owned - here)
        self.cache.clear()

    def construction_only(self, name: str) -> bool:
        """Whether ``name`` (a function) runs only while a network is built."""
        return name in self.texts and name not in self.runtime

    def pure(self, node: ast.expr) -> bool:
        """Evaluating ``node`` has no effect: names, attributes, literals, displays and
        ``isinstance`` tests of them."""
        allowed: tuple[type[ast.AST], ...] = (ast.Name, ast.Attribute, ast.Constant, ast.Load)
        allowed += (ast.Tuple, ast.List)
        allowed += (ast.Dict, ast.Set, ast.UnaryOp, ast.unaryop, ast.Compare, ast.cmpop)
        allowed += (ast.BoolOp, ast.boolop)
        return all(isinstance(n, allowed) or _isinstance_call(n) for n in ast.walk(node))
