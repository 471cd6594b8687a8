"""Edits of a copied definition's text that keep the rest of it as written.

The library is laid out as ruff-format lays it out, comments included; an edit replaces
one span (an expression, whole statements, an ``if`` by one of its branches, an argument
or a parameter) and leaves every other character in place, so the file stays laid out.
Edits of one round never overlap: :func:`apply` keeps the outermost and drops the rest,
which the next round finds again in the edited text.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

WIDTH = 88  # the library is written for 88 columns


@dataclass(frozen=True)
class Edit:
    start: int  # offsets into the text
    end: int
    text: str


class Text:
    """A definition's text with offsets for its AST's positions (columns are UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, line: int, col: int) -> int:
        row = self.lines[line - 1]
        return self.starts[line - 1] + len(row.encode("utf-8")[:col].decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_start(self, line: int) -> int:
        return self.starts[line - 1]

    def indent(self, line: int) -> int:
        row = self.lines[line - 1]
        return len(row) - len(row.lstrip())

    def first_line(self, node: ast.stmt) -> int:
        """The statement's first line, with its decorators and the comments right above."""
        decorators: list[ast.expr] = getattr(node, "decorator_list", [])
        line = min([node.lineno] + [d.lineno for d in decorators])
        while line > 1 and self.lines[line - 2].strip().startswith("#"):
            line -= 1
        return line

    def lines_span(self, first: int, last: int) -> tuple[int, int]:
        """Whole lines ``first`` to ``last`` (1-based, inclusive), with the newline."""
        return self.starts[first - 1], self.starts[last]


def apply(text: str, edits: list[Edit]) -> str:
    """``text`` with the edits that do not overlap an earlier, outer one."""
    kept: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, -e.end)):
        if kept and edit.start < kept[-1].end:
            continue
        kept.append(edit)
    for edit in reversed(kept):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return tidy(text)


def tidy(text: str) -> str:
    """No blank line opening a block, none doubled inside a definition, none at its end."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.strip() and out and (not out[-1].strip() or _opens_block(out[-1])):
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _opens_block(line: str) -> bool:
    stripped = line.split("#")[0].rstrip()
    return stripped.endswith(":") and not stripped.lstrip().startswith(("'", '"'))


def delete_statements(text: Text, first: ast.stmt, last: ast.stmt) -> Edit:
    start, end = text.lines_span(text.first_line(first), last.end_lineno or last.lineno)
    return Edit(start, end, "")


def replace_statement(text: Text, node: ast.stmt, body: list[ast.stmt], lead: str = "") -> Edit:
    """``node`` replaced by the statements ``body`` (one of its blocks), dedented to its
    column; ``lead`` goes before the first (``if`` for an ``elif`` that now opens)."""
    first = text.first_line(body[0])
    last = body[-1].end_lineno or body[-1].lineno
    block = "\n".join(text.lines[first - 1 : last])
    column = node.col_offset
    moved = textwrap.indent(textwrap.dedent(block), " " * column) + "\n"
    start = text.line_start(node.lineno)
    end = text.lines_span(node.lineno, node.end_lineno or node.lineno)[1]
    if lead:
        moved = " " * column + lead + moved.lstrip()
    return Edit(start, end, moved)


def else_line(text: Text, node: ast.If) -> int:
    """The line of ``else:`` (or ``elif``) that opens ``node``'s ``orelse``."""
    line = node.orelse[0].lineno
    if _is_elif(text, node):
        return line
    while not text.lines[line - 1].strip().startswith("else"):
        line -= 1
    return line


def _is_elif(text: Text, node: ast.If) -> bool:
    inner = node.orelse[0]
    return (
        len(node.orelse) == 1
        and isinstance(inner, ast.If)
        and text.lines[inner.lineno - 1].lstrip().startswith("elif")
    )


def choose_branch(text: Text, node: ast.If, keep_body: bool) -> Edit:
    """``node`` replaced by its body or by its ``orelse`` (nothing if that is empty)."""
    if keep_body:
        return replace_statement(text, node, node.body)
    if not node.orelse:
        return delete_statements(text, node, node)
    if _is_elif(text, node):
        inner = node.orelse[0]
        start = text.line_start(node.lineno)
        head = text.offset(inner.lineno, inner.col_offset) + len("elif")
        rest = text.text[head : text.lines_span(inner.lineno, inner.end_lineno or 0)[1]]
        column = text.indent(node.lineno)
        body = " " * column + "if" + rest
        end = text.lines_span(node.lineno, node.end_lineno or 0)[1]
        return Edit(start, end, body)
    return replace_statement(text, node, node.orelse)


def drop_orelse_branch(text: Text, node: ast.If) -> Edit:
    """An ``elif`` that is never taken: its lines go, the chain goes on after it."""
    inner = node.orelse[0]
    assert isinstance(inner, ast.If)
    start = text.line_start(inner.lineno)
    if inner.orelse:
        end = text.line_start(else_line(text, inner))
        tail = text.lines[else_line(text, inner) - 1]
        if tail.lstrip().startswith("elif"):
            return Edit(start, end, "")
        return Edit(start, end, "")
    return Edit(start, text.lines_span(inner.lineno, inner.end_lineno or 0)[1], "")


# -- arguments and parameters ---------------------------------------------------------------


Item = tuple[ast.AST, ast.AST]  # an argument or parameter: its first and last node


def remove_items(text: Text, items: list[Item], remove: list[Item]) -> list[Edit]:
    """Remove some items (arguments or parameters) of one bracket. An item on lines of
    its own goes with its lines; one among others on a line goes with its comma."""
    edits = []
    for item in remove:
        index = items.index(item)
        start, end = text.span(item[0])[0], text.span(item[1])[1]
        if _alone_on_lines(text, item):
            first, last = item[0].lineno, item[1].end_lineno or item[1].lineno  # type: ignore[attr-defined]
            edits.append(Edit(*text.lines_span(first, last), ""))
        elif index + 1 < len(items):
            edits.append(Edit(start, text.span(items[index + 1][0])[0], ""))
        elif index > 0:
            edits.append(Edit(text.span(items[index - 1][1])[1], end, ""))
        else:
            edits.append(Edit(start, end, ""))
    return edits


def _alone_on_lines(text: Text, item: Item) -> bool:
    head, tail = item
    first, last = head.lineno, tail.end_lineno  # type: ignore[attr-defined]
    before = text.lines[first - 1][: head.col_offset].strip()  # type: ignore[attr-defined]
    row = text.lines[last - 1].encode("utf-8")
    after = row[tail.end_col_offset :].decode()  # type: ignore[attr-defined]
    return not before and re.fullmatch(r",?\s*(#.*)?", after) is not None


def parameters(args: ast.arguments) -> list[Item]:
    """The parameters of a signature in order, each with its default."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    items: list[Item] = [(a, d or a) for a, d in zip(positional, defaults, strict=True)]
    items += [(a, d or a) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    return items


def star_marker_line(text: Text, args: ast.arguments, removed: set[str]) -> int | None:
    """The line of a bare ``*,`` that no keyword-only parameter follows any more."""
    if not args.kwonlyargs or any(a.arg not in removed for a in args.kwonlyargs):
        return None
    line = args.kwonlyargs[0].lineno
    while line > 1:
        line -= 1
        if text.lines[line - 1].strip() == "*,":
            return line
    return None


def collapse(segment: str, column: int, width: int = WIDTH) -> str | None:
    """An exploded bracket (``head(\\n a,\\n b,\\n)tail``) on one line if it fits, as
    ruff-format writes it without the magic trailing comma; None if it does not."""
    lines = segment.split("\n")
    if len(lines) < 3 or any("#" in line for line in lines) or not lines[0].endswith("("):
        return None
    items = [line.strip() for line in lines[1:-1]]
    if any(not item.endswith(",") for item in items):
        return None
    joined = lines[0] + ", ".join(item[:-1] for item in items) + lines[-1].strip()
    return joined if column + len(joined) <= width else None


# -- docstrings -------------------------------------------------------------------------------


def docstring_without(
    node: ast.AST, text: Text, names: set[str], keep_summary_only: bool = False
) -> Edit | None:
    """The docstring of ``node`` without the paragraphs that speak of ``names`` (in
    double backquotes): the options a specialised block no longer has; or, with
    ``keep_summary_only``, without any paragraph but the first."""
    body = getattr(node, "body", [])
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
        return None
    if not isinstance(body[0].value.value, str) or not (names or keep_summary_only):
        return None
    doc = body[0].value
    source = text.segment(doc)
    if not source.startswith('"""'):
        return None
    paragraphs = source[3:-3].split("\n\n")
    rest = [] if keep_summary_only else paragraphs[1:]
    kept = [paragraphs[0]] + [p for p in rest if not _mentions(p, names)]
    if len(kept) == len(paragraphs):
        return None
    column = doc.col_offset
    if len(kept) == 1:  # the summary alone: closed on its last line, as ruff closes it
        words = " ".join(kept[0].split())
        lines = textwrap.wrap(f'"""{words}"""', WIDTH - column, break_on_hyphens=False)
        return Edit(*text.span(doc), ("\n" + " " * column).join(lines))
    closing = "\n" + " " * column
    inner = "\n\n".join(kept).rstrip()
    return Edit(*text.span(doc), f'"""{inner}{closing}"""')


def _mentions(paragraph: str, names: set[str]) -> bool:
    quoted = re.findall(r"``([^`]+)``", paragraph)
    words = {w for q in quoted for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", q)}
    return bool(words & names)
