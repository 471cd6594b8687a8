"""The last touch on a simplified definition: a signature or call that lost items and now
fits on one line is written on one, as ruff-format writes it without a magic comma."""

from __future__ import annotations

import ast

from skipgen.backends import rewrite as rw
from skipgen.backends.layout import Expr, Group, flat


def _header_end(text: rw.Text, fn: ast.FunctionDef) -> int:
    """The last line of ``fn``'s signature."""
    line = fn.body[0].lineno - 1
    while line > fn.lineno and not text.lines[line - 1].rstrip().endswith(":"):
        line -= 1
    return line


def _group(node: ast.expr, text: rw.Text) -> Expr | None:
    """``node`` as :mod:`~skipgen.backends.layout` lays it out: a call or a tuple whose
    items each fit on one line; None for anything else."""
    if isinstance(node, ast.Call):
        items = [("", a) for a in node.args] + [(f"{k.arg}=", k.value) for k in node.keywords]
        head = text.segment(node.func)
        opening = "("
    elif isinstance(node, ast.Tuple) and len(node.elts) > 1:
        items, head, opening = [("", e) for e in node.elts], "", "("
    else:
        segment = text.segment(node)
        return None if "\n" in segment else segment
    laid: list[tuple[str, Expr]] = []
    for prefix, item in items:
        inner = _group(item, text) if isinstance(item, ast.Call) else text.segment(item)
        if inner is None or (isinstance(inner, str) and "\n" in inner) or prefix == "None=":
            return None
        laid.append((prefix, inner))
    if "\n" in head:
        return None
    return Group(head, opening, ")", tuple(laid))


def _relayout(text: rw.Text, node: ast.stmt) -> rw.Edit | None:
    """A simple statement with a line too long, split as ruff-format splits it."""
    first, last = node.lineno, node.end_lineno or node.lineno
    if all(len(line) <= rw.WIDTH for line in text.lines[first - 1 : last]):
        return None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        lead = text.segment(node.targets[0]) + " = "
    elif isinstance(node, ast.Return):
        lead = "return "
    elif isinstance(node, ast.Expr):
        lead = ""
    else:
        return None
    value = getattr(node, "value", None)
    group = _group(value, text) if isinstance(value, ast.expr) else None
    if group is None or "\n" in lead or any("#" in line for line in text.lines[first - 1 : last]):
        return None
    column = node.col_offset
    if not isinstance(group, Group):
        return None
    # One item a line with a magic trailing comma: ruff-format keeps that at any width,
    # as it keeps the library's own (a bare tuple goes in parentheses of its own).
    items = [f"    {prefix}{flat(item)}," for prefix, item in group.items]
    lines = [f"{lead}{group.head}(", *items, ")"]
    body = "\n".join(" " * column + line for line in lines) + "\n"
    return rw.Edit(*text.lines_span(first, last), body)


def finish(source: str, fixed: set[str]) -> str:
    text = rw.Text(source)
    edits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.Return | ast.Expr):
            relaid = _relayout(text, node)
            if relaid is not None:
                edits.append(relaid)
                continue
        if isinstance(node, ast.FunctionDef) and fixed:
            first, last = node.lineno, _header_end(text, node)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.Expr | ast.Return):
            if not isinstance(getattr(node, "value", None), ast.Call):
                continue
            first, last = node.lineno, node.end_lineno or node.lineno
        else:
            continue
        if last - first < 2:
            continue
        column = text.indent(first)
        segment = "\n".join(text.lines[first - 1 : last])[column:]
        joined = rw.collapse(segment, column)
        if joined is not None:
            start, end = text.lines_span(first, last)
            edits.append(rw.Edit(start, end, " " * column + joined + "\n"))
    return rw.apply(source, edits)
