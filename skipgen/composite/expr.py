"""The small expressions of a composite's body: ``"${round(channels * expansion)}"``.

An expression is parsed by Python's ``ast`` module and then checked against an allow-list
before anything is computed: numbers, the composite's parameter names, ``+ - * / // %``,
unary ``-`` and ``+``, parentheses, and calls of ``round``, ``min`` and ``max`` with
positional arguments. Everything else (attributes, subscripts, other names, strings,
lambdas, comprehensions, ``**``, keywords) is refused. The checked tree is then computed
by this module's own small interpreter, one node at a time: user text is never handed to
``eval``, ``exec`` or ``compile``, and no Python object but a number or a parameter's value
is ever reached.

The text is bounded before it is parsed (length and bracket depth), so that no input can
make the parser itself recurse deeply, and every intermediate value is bounded too.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 200  # characters between ${ and }
MAX_DEPTH = 16  # brackets inside brackets
MAX_NODES = 64  # syntax tree nodes
MAX_MAGNITUDE = 10**12  # no value, not even an intermediate one, may exceed this

FUNCTIONS = ("round", "min", "max")
_ALLOWED_CHARACTERS = re.compile(r"[A-Za-z0-9_.+\-*/%(), \t]*")
_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}
_HINT = (
    "an expression may use numbers, the block's parameters, + - * / // %, parentheses, "
    "and round(), min(), max()"
)


class ExprError(ValueError):
    """An expression that cannot be used, and what to write instead."""

    def __init__(self, message: str, hint: str = _HINT) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text and its syntax tree (only allow-listed nodes)."""

    text: str
    tree: ast.expr

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name))


def expression_text(value: object) -> str | None:
    """The text inside ``${...}`` when ``value`` is such a string; None for other values.

    A string that holds ``${`` anywhere else is an error: an expression is a whole value.
    """
    if not isinstance(value, str) or "${" not in value:
        return None
    if not (value.startswith("${") and value.endswith("}")):
        raise ExprError(
            f"{value!r} mixes text and an expression",
            'an expression is a whole value, written "${...}"',
        )
    return value[2:-1]


def parse(text: str, params: Mapping[str, object]) -> Expression:
    """Check ``text`` (what ``${...}`` holds) against the allow-list and ``params``."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text)} characters long, over {MAX_LENGTH}")
    if not text.strip():
        raise ExprError("the expression is empty")
    if not _ALLOWED_CHARACTERS.fullmatch(text):
        bad = next(c for c in text if not _ALLOWED_CHARACTERS.fullmatch(c))
        raise ExprError(f"the character {bad!r} cannot appear in an expression")
    if "**" in text:
        raise ExprError("** is not allowed", "write the product out, or compute the value")
    depth = deepest = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ExprError(f"the expression nests brackets {deepest} deep, over {MAX_DEPTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExprError(f"{text.strip()!r} is not an expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExprError(f"the expression has over {MAX_NODES} parts", "split it into parameters")
    _check(tree, params)
    return Expression(text.strip(), tree)


def _check(node: ast.AST, params: Mapping[str, object]) -> None:
    """Refuse any node outside the allow-list (children before the node's own use)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExprError(f"{ast.unparse(node)} is not a number")
        _bounded(value)
    elif isinstance(node, ast.Name):
        if node.id not in params:
            hint = "parameters: " + ", ".join(params) if params else "the block has no parameters"
            raise ExprError(f"{node.id!r} is not a parameter of this block", hint)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise ExprError(f"the operator in {ast.unparse(node)!r} is not allowed")
        _check(node.left, params)
        _check(node.right, params)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExprError(f"the operator in {ast.unparse(node)!r} is not allowed")
        _check(node.operand, params)
    elif isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise ExprError("only round(), min() and max() may be called")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExprError(f"{node.func.id}() takes plain arguments only")
        counts = {"round": (1, 1), "min": (2, 8), "max": (2, 8)}[node.func.id]
        if not counts[0] <= len(node.args) <= counts[1]:
            wanted = "one argument" if counts[1] == 1 else "two to eight arguments"
            raise ExprError(f"{node.func.id}() takes {wanted}")
        for arg in node.args:
            _check(arg, params)
    else:
        raise ExprError(f"{type(node).__name__.lower()} is not allowed in an expression")


def evaluate(expr: Expression, params: Mapping[str, Any]) -> Any:
    """The value of a checked expression. A lone parameter (``${act}``) gives its value as
    it is, of any type; arithmetic takes numbers only."""
    if isinstance(expr.tree, ast.Name):
        return params[expr.tree.id]
    return _value(expr.tree, params)


def _value(node: ast.expr, params: Mapping[str, Any]) -> int | float:
    if isinstance(node, ast.Constant):
        value = node.value
        assert isinstance(value, int | float)  # checked: a number
        return value
    if isinstance(node, ast.Name):
        value = params[node.id]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExprError(
                f"the parameter {node.id!r} is {value!r}, not a number",
                'only a lone "${name}" may stand for a parameter that is not a number',
            )
        return _bounded(value)
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, params)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _bounded(_binary(node, _value(node.left, params), _value(node.right, params)))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # checked
    args = [_value(arg, params) for arg in node.args]
    if node.func.id == "round":
        return round(_bounded(args[0]))  # never rounds an infinity or a NaN
    return min(args) if node.func.id == "min" else max(args)


def _binary(node: ast.BinOp, left: int | float, right: int | float) -> int | float:
    op = _OPERATORS[type(node.op)]
    if op in ("/", "//", "%") and right == 0:
        raise ExprError(f"{ast.unparse(node)!r} divides by zero")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return left / right
    if op == "//":
        return left // right
    return left % right


def _bounded(value: int | float) -> int | float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ExprError(
            f"a value in the expression is out of range (beyond {MAX_MAGNITUDE:.0e})",
            "channels, kernels and strides are small numbers",
        )
    return value
