"""Python expressions for constructor calls, laid out the way ruff-format lays them out.

Every value from a spec reaches generated source through :func:`literal`, so it is always a
Python literal; a statement too long for one line is split as ruff-format splits it at the
line length asked for, so the output is formatted as it is written and no formatter runs at
build time. (The copied blocks need no layout: ``skipgen/nn`` is written so that ruff-format
leaves it unchanged at any line length from :data:`MIN_LINE_LENGTH` up.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from skipgen.backends.text import string_literal
from skipgen.ir.common import TORCH_LAYERS
from skipgen.ir.graph import Call, Partial
from skipgen.library.nn import SourceError, library
from skipgen.library.plugins import loaded_blocks

DEFAULT_LINE_LENGTH = 88  # ruff's and black's default
MIN_LINE_LENGTH = 88  # the copied blocks fit in 88 columns and keep their magic commas
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


@dataclass(frozen=True)
class Code:
    """An argument written as Python source: a composite block's class computes it from its
    own arguments (``in_channels + skip_channels``). Made only from checked expressions and
    parameter names, never from spec text as such."""

    text: str


@dataclass(frozen=True)
class ClassCall(Call):
    """A call of a class the emitted file defines itself: a composite block's."""


@dataclass(frozen=True)
class Sum:
    """``left + right``: the right-hand side of ``x = x + self.up1_skip(enc1)``; ``left *
    right`` with ``op="*"`` (an attention gate's product), laid out alike."""

    left: str
    right: Expr
    op: str = "+"


def literal(value: Any) -> str:
    """Python source for a plain value; every spec value reaches the output through here."""
    if isinstance(value, Code):
        return value.text
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
    """The expression for a call argument: a literal, a tuple, a nested call, or a layer
    class (bare, or in ``partial`` with the arguments it binds)."""
    if isinstance(value, Call):
        return call_expr(value)
    if isinstance(value, Partial):
        return partial_expr(value)
    if isinstance(value, tuple):
        return Group("", "(", ")", tuple(("", expr(v)) for v in value))
    return literal(value)


def call_expr(call: Call) -> Group:
    lib = library()
    target = call.target
    known = isinstance(call, ClassCall) or target in TORCH_LAYERS or target in lib.definitions
    known = known or target in loaded_blocks()
    if not known:
        raise SourceError(f"internal error: unknown build target {target!r}")
    for key, _ in call.kwargs:
        if not key.isidentifier():
            raise SourceError(f"internal error: bad keyword {key!r} for {target}")
    items = tuple(("", expr(a)) for a in call.args)
    items += tuple((f"{k}=", expr(v)) for k, v in call.kwargs)
    return Group(target, "(", ")", items)


def partial_expr(value: Partial) -> Expr:
    """``nn.BatchNorm2d``, or ``partial(nn.GroupNorm, 4, eps=0.001)`` when it binds any
    arguments (the file then imports ``partial`` from ``functools``); the layer class is a
    ``torch.nn`` one, or one of the library's (``LayerNormNd``)."""
    if value.target not in TORCH_LAYERS and value.target not in library().definitions:
        raise SourceError(f"internal error: unknown layer class {value.target!r}")
    if not value.args and not value.kwargs:
        return value.target
    layer = Call(value.target, value.args, value.kwargs)
    return Group("partial", "(", ")", (("", value.target), *call_expr(layer).items))


def uses_partial(call: Call) -> bool:
    """Whether the expression for ``call`` writes ``partial(...)``."""
    values = (*call.args, *(v for _, v in call.kwargs))
    return any(
        (isinstance(v, Partial) and bool(v.args or v.kwargs))
        or (isinstance(v, Call) and uses_partial(v))
        for v in values
    )


def _inner(e: Group) -> str:
    inner = ", ".join(prefix + flat(item) for prefix, item in e.items)
    if e.head == "" and e.open == "(" and len(e.items) == 1:
        inner += ","  # a one-element tuple
    return inner


def flat(e: Expr) -> str:
    return e if isinstance(e, str) else f"{e.head}{e.open}{_inner(e)}{e.close}"


def layout(e: Expr, column: int, width: int, lead: str = "", trail: str = "") -> list[str]:
    """``lead + e + trail`` starting at ``column``, split the way ruff-format splits it.

    One line when it fits; else the items on one line of their own between the brackets;
    else one item per line, each laid out the same way, with a trailing comma after
    each of two or more items.
    """
    one = lead + flat(e) + trail
    if isinstance(e, str) or column + len(one) <= width or not e.items:
        return [one]
    lines = [f"{lead}{e.head}{e.open}"]
    inner = _inner(e)
    indented = column + len(INDENT)
    if indented + len(inner) <= width:
        lines.append(INDENT + inner)
    else:
        comma = "," if len(e.items) > 1 else ""  # a lone item gets no trailing comma
        for prefix, item in e.items:
            lines += [INDENT + line for line in layout(item, indented, width, prefix, comma)]
    lines.append(e.close + trail)
    return lines


def _fits_expanded(e: Expr, column: int, width: int, prefix: str = "", trail: str = "") -> bool:
    """Whether every line of ``prefix + e + trail`` fits with each bracket split."""
    if isinstance(e, str) or not e.items:
        return column + len(prefix + flat(e) + trail) <= width
    if column + len(prefix + e.head + e.open) > width:
        return False
    comma = "," if len(e.items) > 1 else ""
    indented = column + len(INDENT)
    items_fit = all(_fits_expanded(item, indented, width, p, comma) for p, item in e.items)
    return items_fit and column + len(e.close + trail) <= width


def _opening_fits(e: Expr, column: int, width: int, lead: str) -> bool:
    """Whether ``e`` has brackets to split and ``lead`` plus its opening bracket fit."""
    if isinstance(e, str) or not e.items:
        return False
    return column + len(lead + e.head + e.open) <= width


def assignment_layout(e: Expr, column: int, width: int, lead: str) -> list[str]:
    """``lead + e`` where ``lead`` is ``"target = "``, split the way ruff-format splits it.

    One line when it fits; else the value's own brackets split, when the line that opens
    them fits; else the value in parentheses of its own (``target = (``), when that line
    fits and the value fits below it; else the value's own brackets split all the same.
    """
    one = lead + flat(e)
    if column + len(one) <= width:
        return [one]
    if _opening_fits(e, column, width, lead):
        return layout(e, column, width, lead)
    indented = column + len(INDENT)
    if column + len(lead) + 1 <= width and _fits_expanded(e, indented, width):
        return [f"{lead}(", *(INDENT + line for line in layout(e, indented, width)), ")"]
    return layout(e, column, width, lead)


def sum_layout(e: Sum, column: int, width: int, lead: str = "") -> list[str]:
    """``lead + e`` (an assignment) split the way ruff-format splits a sum.

    One line when it fits; else the right operand's brackets split, when the line that
    opens them fits; else the sum in parentheses, on one line if it fits there, else one
    operand per line (``+`` first), each laid out as :func:`layout` does.
    """
    one = f"{lead}{e.left} {e.op} {flat(e.right)}"
    if column + len(one) <= width:
        return [one]
    right = e.right
    opening = f"{lead}{e.left} {e.op} "
    if _opening_fits(right, column, width, opening):
        return layout(right, column, width, opening)
    indented = column + len(INDENT)
    inner = f"{e.left} {e.op} {flat(right)}"
    if indented + len(inner) <= width:
        return [f"{lead}(", INDENT + inner, ")"]
    operands = [e.left, *layout(right, indented, width, f"{e.op} ")]
    return [f"{lead}(", *(INDENT + line for line in operands), ")"]


def statement(e: Expr | Sum, width: int, lead: str = "", comment: str = "") -> str:
    """A statement inside a method body (continuation lines indented relative to it).

    ``comment`` (``"  # ..."``) ends the statement only when it is one line that still
    fits with it: ruff-format counts a trailing comment in the width and would split the
    statement to make room for it.
    """
    if isinstance(e, Sum):
        lines = sum_layout(e, BODY_INDENT, width, lead)
    else:
        lines = assignment_layout(e, BODY_INDENT, width, lead)
    if comment and len(lines) == 1 and BODY_INDENT + len(lines[0]) + len(comment) <= width:
        lines[0] += comment
    return "\n".join(lines)


def checkpointed_statement(plain: Group, saving: Group, width: int, comment: str = "") -> str:
    """``x = plain`` for a checkpointed member, ``saving`` (the call of ``checkpointed``,
    which recomputes the module's activations in the backward pass while it trains)
    unless under TorchScript, which compiles only the branch that ``is_scripting()``
    selects.

    Laid out as ruff-format lays out a conditional expression that is too long: in
    parentheses, then one branch a line, each split at its brackets if it must be."""
    choice = f"{flat(plain)} if is_scripting() else {flat(saving)}"
    line = f"x = {choice}"
    if BODY_INDENT + len(line) + len(comment) <= width:
        return line + comment
    if BODY_INDENT + len(line) <= width:
        return line
    column = BODY_INDENT + len(INDENT)
    if column + len(choice) <= width:
        return f"x = (\n{INDENT}{choice}\n)"
    lines = [
        *layout(plain, column, width),
        "if is_scripting()",
        *layout(saving, column, width, "else "),
    ]
    return "\n".join(["x = (", *(INDENT + line for line in lines), ")"])
