"""What an expression of the copied library is worth when some of its names are known.

The emitter knows the arguments every use of a block passes (the network's own calls are
literals). A name then holds a finite set of possible values, each one of:

- :class:`Lit`, a Python literal (``2``, ``"relu"``, ``None``, a tuple of literals);
- :class:`Code`, an expression over module-level names, fixed but not evaluated here
  (``nn.BatchNorm2d``, ``partial(nn.GroupNorm, 8)``): never None, never a plain value;
- :class:`Made`, what calling such a class gives (``nn.BatchNorm2d(64)``), known by class;
- :class:`Table`, a dict display with literal keys (``{1: nn.Conv1d, 2: nn.Conv2d}``).

:func:`evaluate` gives the set of values an expression may take (None when unknown);
where every possibility agrees the emitter writes the answer instead of the expression.
Nothing here imports torch or runs library code.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from skipgen.backends.layout import literal


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Made:
    cls: str  # the class's text: "nn.BatchNorm2d"


@dataclass(frozen=True)
class Table:
    items: tuple[tuple[Any, ast.expr], ...]  # literal key -> its value's expression


@dataclass(frozen=True)
class Bound:
    """``partial(callee, ...)`` of a library definition: what it binds, by parameter."""

    callee: str
    values: tuple[tuple[str, frozenset[Any] | None], ...]
    positional: int  # how many positional parameters it fills


Value = Lit | Code | Made | Table | Bound
Values = frozenset[Value] | None  # None: not known
Env = Mapping[str, Values]

_COMBINATIONS = 64  # beyond this many, a compound expression is left unknown
_BUILTIN_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "tuple": tuple}
_CONVERSIONS: dict[str, Callable[[Any], Any]] = {"float": float, "int": int, "bool": bool}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Div: operator.truediv,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: operator.contains(b, a),
    ast.NotIn: lambda a, b: not operator.contains(b, a),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class Unknown(Exception):
    """The value cannot be told here."""


def printable(values: Values) -> str | None:
    """Source text for the one value of ``values``, or None."""
    if values is None or len(values) != 1:
        return None
    (value,) = values
    if isinstance(value, Lit):
        try:
            return _literal_text(value.value)
        except TypeError:
            return None
    return value.text if isinstance(value, Code) else None


def _literal_text(value: Any) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_literal_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return literal(value)


def path_text(node: ast.expr) -> str | None:
    """``nn.BatchNorm2d`` for an attribute chain over a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = path_text(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def code_of(node: ast.expr, globals_: Iterable[str]) -> Code | None:
    """A :class:`Code` for ``node`` when it reads only module-level names and literals."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if not names or not names <= set(globals_) or not _pure(node):
        return None
    if isinstance(node, ast.Call) and not _is_partial(node):
        return None  # a call makes something new each time
    return Code(ast.unparse(node))


def _is_partial(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "partial"


def _pure(node: ast.expr) -> bool:
    allowed: tuple[type[ast.AST], ...] = (ast.Name, ast.Attribute, ast.Constant, ast.Call)
    allowed += (ast.keyword, ast.Load, ast.Tuple, ast.UnaryOp, ast.USub)
    return all(isinstance(n, allowed) for n in ast.walk(node))


def class_of(value: Code) -> str | None:
    """The class a :class:`Code` builds when called: itself, or a partial's first argument."""
    tree = ast.parse(value.text, mode="eval").body
    if isinstance(tree, ast.Call) and _is_partial(tree) and tree.args:
        return path_text(tree.args[0])
    return path_text(tree)


def truth(value: Value) -> bool:
    if isinstance(value, Lit):
        return bool(value.value)
    if isinstance(value, Code | Bound):
        return True  # a class or a partial
    raise Unknown  # a module may define __len__ (nn.Sequential does)


class Evaluator:
    """Evaluates expressions in an environment of known names (``self.x`` included)."""

    def __init__(self, env: Env, globals_: frozenset[str], absent: frozenset[str]) -> None:
        self.env = env
        self.globals = globals_
        self.absent = absent  # attributes that no object of the file has

    def values(self, node: ast.expr) -> Values:
        try:
            return frozenset(self._eval(node))
        except (Unknown, TypeError, ValueError, ArithmeticError, KeyError, IndexError):
            return None

    def decided(self, node: ast.expr) -> bool | None:
        """The truth of ``node`` when every possibility agrees."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.decided(node.operand)
            return None if inner is None else not inner
        if isinstance(node, ast.BoolOp):
            truths = [self.decided(v) for v in node.values]
            stop = isinstance(node.op, ast.Or)  # or: one true operand makes it true
            if stop in truths:
                return stop
            return (not stop) if all(t is not None for t in truths) else None
        values = self.values(node)
        if not values:
            return None
        try:
            found = {truth(v) for v in values}
        except Unknown:
            return None
        return found.pop() if len(found) == 1 else None

    def _eval(self, node: ast.expr) -> set[Value]:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unknown
        found: set[Value] = method(node)
        return found

    def _Constant(self, node: ast.Constant) -> set[Value]:
        return {Lit(node.value)}

    def _Name(self, node: ast.Name) -> set[Value]:
        if node.id in self.env:
            known = self.env[node.id]
            if known is None:
                raise Unknown
            return set(known)
        if node.id in self.globals:
            return {Code(node.id)}
        raise Unknown

    def _Attribute(self, node: ast.Attribute) -> set[Value]:
        text = path_text(node)
        if text is not None and text in self.env:
            return self._Name(ast.Name(id=text))
        code = code_of(node, self.globals)
        if code is None:
            raise Unknown
        return {code}

    def _Tuple(self, node: ast.Tuple) -> set[Value]:
        return {Lit(t) for t in self._product(node.elts, lambda *xs: tuple(_lit(x) for x in xs))}

    def _Dict(self, node: ast.Dict) -> set[Value]:
        keys = [k for k in node.keys if isinstance(k, ast.Constant)]
        if len(keys) != len(node.keys):
            raise Unknown
        return {Table(tuple((k.value, v) for k, v in zip(keys, node.values, strict=True)))}

    def _UnaryOp(self, node: ast.UnaryOp) -> set[Value]:
        if isinstance(node.op, ast.Not):
            return {Lit(not truth(v)) for v in self._eval(node.operand)}
        if isinstance(node.op, ast.USub):
            return {Lit(-_lit(v)) for v in self._eval(node.operand)}
        raise Unknown

    def _BinOp(self, node: ast.BinOp) -> set[Value]:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise Unknown
        return {Lit(v) for v in self._product([node.left, node.right], _on_lits(op))}

    def _BoolOp(self, node: ast.BoolOp) -> set[Value]:
        """Operand by operand, as Python runs it: known while every possibility agrees
        on going on or stopping."""
        go_on = isinstance(node.op, ast.And)  # and: a true operand goes on
        for operand in node.values[:-1]:
            values = self._eval(operand)
            truths = {truth(v) for v in values}
            if truths == {not go_on}:
                return values
            if truths != {go_on}:
                raise Unknown
        return self._eval(node.values[-1])

    def skippable(self, node: ast.BoolOp) -> list[ast.expr]:
        """The operands of ``node`` that every possibility passes over."""
        go_on = isinstance(node.op, ast.And)
        passed = []
        for operand in node.values[:-1]:
            if self.decided(operand) is go_on:
                passed.append(operand)
        return passed

    def _Compare(self, node: ast.Compare) -> set[Value]:
        results: set[Value] = set()
        for choice in self._choices([node.left, *node.comparators]):
            ok = True
            for op, left, right in zip(node.ops, choice, choice[1:], strict=False):
                ok = ok and _compare(type(op), left, right)
            results.add(Lit(ok))
        return results

    def _IfExp(self, node: ast.IfExp) -> set[Value]:
        test = self.decided(node.test)
        if test is None:
            return self._eval(node.body) | self._eval(node.orelse)
        return self._eval(node.body if test else node.orelse)

    def _Subscript(self, node: ast.Subscript) -> set[Value]:
        results: set[Value] = set()
        for table, key in self._choices([node.value, node.slice]):
            if not isinstance(table, Table) or not isinstance(key, Lit):
                raise Unknown
            entry = dict(table.items)[key.value]
            results |= Evaluator({}, self.globals, self.absent)._eval(entry)
        return results

    def _Call(self, node: ast.Call) -> set[Value]:
        if _is_partial(node):
            code = code_of(node, self.globals)
            if code is None:
                raise Unknown
            return {code}
        if node.keywords or not isinstance(node.func, ast.Name):
            return self._construct(node)
        name = node.func.id
        if name == "isinstance" and len(node.args) == 2:
            values = self._eval(node.args[0])
            named = isinstance(node.args[0], ast.Name | ast.Attribute)
            builtin = path_text(node.args[1]) in _BUILTIN_TYPES
            if named and builtin and any(not isinstance(v, Lit) for v in values):
                raise Unknown  # a type checker narrows such a name by its annotation
            return {Lit(_isinstance(v, node.args[1])) for v in values}
        if name == "getattr" and len(node.args) == 3 and name not in self.env:
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and attribute.value in self.absent:
                return self._eval(node.args[2])
        if name in _CONVERSIONS and len(node.args) == 1 and name not in self.env:
            return {Lit(_CONVERSIONS[name](_lit(v))) for v in self._eval(node.args[0])}
        return self._construct(node)

    def _construct(self, node: ast.Call) -> set[Value]:
        """Calling a known class (or a partial of one) makes an instance of it."""
        made: set[Value] = set()
        for value in self._eval(node.func):
            cls = class_of(value) if isinstance(value, Code) else None
            if cls is None:
                raise Unknown
            made.add(Made(cls))
        return made

    def _choices(self, nodes: list[ast.expr]) -> list[tuple[Value, ...]]:
        options = [sorted(self._eval(n), key=repr) for n in nodes]
        if any(not o for o in options):
            raise Unknown
        count = 1
        for option in options:
            count *= len(option)
        if count > _COMBINATIONS:
            raise Unknown
        return list(itertools.product(*options))

    def _product(self, nodes: list[ast.expr], combine: Callable[..., Any]) -> set[Any]:
        return {combine(*choice) for choice in self._choices(nodes)}


def _lit(value: Value) -> Any:
    if not isinstance(value, Lit):
        raise Unknown
    return value.value


def _on_lits(op: Callable[[Any, Any], Any]) -> Callable[[Value, Value], Any]:
    return lambda a, b: op(_lit(a), _lit(b))


def _compare(op: type[ast.cmpop], left: Value, right: Value) -> bool:
    if op in (ast.Is, ast.IsNot) and (isinstance(left, Lit) and left.value is None):
        left, right = right, left
    is_none = op in (ast.Is, ast.IsNot) and isinstance(right, Lit) and right.value is None
    if is_none and isinstance(left, Code | Made | Table):
        return op is ast.IsNot  # a class, a module or a dict is never None
    if op in (ast.In, ast.NotIn) and isinstance(right, Table):
        found = _lit(left) in dict(right.items)
        return found if op is ast.In else not found
    return bool(_COMPARE[op](_lit(left), _lit(right)))


def _isinstance(value: Value, kind: ast.expr) -> bool:
    name = path_text(kind)
    if name in _BUILTIN_TYPES:
        if isinstance(value, Lit):
            return isinstance(value.value, _BUILTIN_TYPES[name])
        if isinstance(value, Code | Made):
            return False  # a class, a partial or a module is none of these
        raise Unknown
    if name == "nn.Identity" and isinstance(value, Made):
        # nothing in torch.nn or the library derives from nn.Identity
        return value.cls == "nn.Identity"
    if name == "nn.Identity" and isinstance(value, Lit):
        return False
    raise Unknown
