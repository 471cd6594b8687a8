"""Python expressions for constructor calls, laid out the way ruff-format lays them out.

Every value from a spec reaches generated source through :func:`literal`, so it is always a
Python literal; a statement too long for one line is split as ruff-format splits it, so the
output is formatted as it is written and no formatter runs at build time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from skipgen.backends.library import SourceError, library
from skipgen.ir.graph import Call

LINE_LENGTH = 100
BODY_INDENT = 8  # the columns of a statement inside a method of the network class
INDENT = "    "


@dataclass(frozen=True)
class Group:
    """``head(items)``, ``[items]`` or ``(items)``; each item is ``prefix + expression``."""

    head: str
    open: str
    close: str
    items: tuple[tuple[str, Expr], ...]


Expr = str | Group


def string_literal(value: str) -> str:
    """A string literal in the quotes ruff-format picks: double, unless that escapes more."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    body = []
    for char in value:
        if char == "\\":
            body.append("\\\\")
        elif char in "'\"":
            body.append("\\" + char if char == quote else char)
        else:
            body.append(repr(char)[1:-1])
    return quote + "".join(body) + quote


def literal(value: Any) -> str:
    """Python source for a plain value; every spec value reaches the output through here."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return f'float("{value!r}")'
        return repr(value).replace("e+", "e")  # ruff-format writes 1e20, not 1e+20
    if isinstance(value, str):
        return string_literal(value)
    raise TypeError(f"internal error: cannot write a {type(value).__name__} value")


def expr(value: Any) -> Expr:
    """The expression for a call argument: a literal, a tuple, or a nested call."""
    if isinstance(value, Call):
        return call_expr(value)
    if isinstance(value, tuple):
        return Group("", "(", ")", tuple(("", expr(v)) for v in value))
    return literal(value)


def call_expr(call: Call) -> Group:
    lib = library()
    target = call.target
    is_torch_layer = target.startswith("nn.") and target[3:].isidentifier()
    if not is_torch_layer and target not in lib.definitions:
        raise SourceError(f"internal error: unknown build target {target!r}")
    for key, _ in call.kwargs:
        if not key.isidentifier():
            raise SourceError(f"internal error: bad keyword {key!r} for {target}")
    items = tuple(("", expr(a)) for a in call.args)
    items += tuple((f"{k}=", expr(v)) for k, v in call.kwargs)
    return Group(target, "(", ")", items)


def _inner(e: Group) -> str:
    inner = ", ".join(prefix + flat(item) for prefix, item in e.items)
    if e.head == "" and e.open == "(" and len(e.items) == 1:
        inner += ","  # a one-element tuple
    return inner


def flat(e: Expr) -> str:
    return e if isinstance(e, str) else f"{e.head}{e.open}{_inner(e)}{e.close}"


def layout(e: Expr, column: int, lead: str = "", trail: str = "") -> list[str]:
    """``lead + e + trail`` starting at ``column``, split the way ruff-format splits it.

    One line when it fits; else the items on one line of their own between the brackets;
    else one item per line, each laid out the same way, with a trailing comma after
    each of two or more items.
    """
    one = lead + flat(e) + trail
    if isinstance(e, str) or column + len(one) <= LINE_LENGTH or not e.items:
        return [one]
    lines = [f"{lead}{e.head}{e.open}"]
    inner = _inner(e)
    if column + len(INDENT) + len(inner) <= LINE_LENGTH:
        lines.append(INDENT + inner)
    else:
        comma = "," if len(e.items) > 1 else ""  # a lone item gets no trailing comma
        for prefix, item in e.items:
            lines += [INDENT + line for line in layout(item, column + len(INDENT), prefix, comma)]
    lines.append(e.close + trail)
    return lines


def statement(e: Expr, lead: str = "", comment: str = "") -> str:
    """A statement inside a method body (continuation lines indented relative to it)."""
    lines = layout(e, BODY_INDENT, lead)
    if comment and len(lines) == 1 and BODY_INDENT + len(lines[0]) + len(comment) <= LINE_LENGTH:
        lines[0] += comment
    return "\n".join(lines)
