"""The network class is laid out exactly as ruff-format lays it out, at any line length.

Statements are built with every length of name around the points where ruff-format
changes its mind (split the call's own brackets, parenthesize the value, one operand a
line), written on one line, formatted by ruff, and compared with skipgen's layout.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

import pytest

import skipgen
from skipgen.backends.layout import BODY_INDENT, Expr, Group, Sum, call_expr, flat, statement
from skipgen.ir.graph import Call
from tests.backends.helpers import ruff

WIDTHS = (88, 100, 120)
SHAPE_COMMENT = re.compile(r"  # \(N[^)]*\)$", re.MULTILINE)
BLOCK = Call("InvertedResidual", (16, 24), (("stride", 2), ("hidden_channels", 96)))
SHORTCUT = Call(
    "Shortcut",
    (Call("ConvNormAct", (64, 64), (("kernel_size", 5), ("norm", "group"))), 64, 128, 2),
    (("skip", "concat"), ("downsample", True), ("norm_groups", 16)),
)


def _values(size: int) -> Iterator[Expr]:
    """Right-hand sides of the init statements: short, long, nested, empty, unsplittable."""
    yield call_expr(Call("ConvNormAct", (3, 64), (("kernel_size", 7), ("act", "silu"))))
    yield Group("nn.Sequential", "(", ")", (("", call_expr(BLOCK)),) * 2)
    yield Group("nn.Sequential", "(", ")", (("", call_expr(BLOCK)),))
    yield call_expr(SHORTCUT)
    yield call_expr(Call("nn.MaxPool2d", (), (("kernel_size", (3, 3)), ("stride", (2, 2)))))
    yield call_expr(Call("nn.Identity"))
    yield call_expr(Call("ConvNormAct", (3, 64), (("act", "s" * (size // 2)),)))


def _statements(size: int) -> Iterator[tuple[str, Expr | Sum]]:
    name = "n" * size
    yield f"self.{name} = ", call_expr(BLOCK)
    for value in _values(size):
        yield f"self.{name} = ", value
    yield "x = ", Group(f"self.{name}", "(", ")", (("", "x"),))
    yield "x = ", Sum("x", "s" * size)
    for source in ("s", "s" * 40, "s" * 75):
        yield "x = ", Sum("x", Group(f"self.{name}", "(", ")", (("", source),)))
        pair = Group("", "[", "]", (("", source + "n" * (size // 4)), ("", "x")))
        yield "x = ", Group("torch.cat", "(", ")", (("", pair), ("dim=", "1")))


def _one_line(lead: str, e: Expr | Sum) -> str:
    return lead + (f"{e.left} + {flat(e.right)}" if isinstance(e, Sum) else flat(e))


def _method(body: str, number: int) -> str:
    return f"class A{number}:\n    def f(self):\n{textwrap.indent(body, ' ' * BODY_INDENT)}\n"


@pytest.mark.parametrize("width", WIDTHS)
def test_statements_are_laid_out_as_ruff_formats_them(width: int) -> None:
    cases = [case for size in range(1, 120) for case in _statements(size)]
    ours = [_method(statement(e, width, lead), i) for i, (lead, e) in enumerate(cases)]
    flat_text = "\n\n".join(_method(_one_line(lead, e), i) for i, (lead, e) in enumerate(cases))
    result = ruff("format", "--stdin-filename", "a.py", "-", stdin=flat_text, line_length=width)
    assert result.returncode == 0, result.stderr
    formatted = result.stdout.split("\n\n\n")
    assert len(formatted) == len(ours)
    for theirs, mine in zip(formatted, ours, strict=True):
        assert theirs.strip("\n") == mine.strip("\n")


def _long_names_spec(size: int) -> str:
    a, b = "enc_" + "a" * size, "dec_" + "b" * size
    return f"""\
name: {"Long" * (size // 4 + 1)}
input: {{channels: 4, size: 8}}
layers:
  - {{type: conv, channels: 8, id: {a}}}
  - {{type: conv, channels: 8, name: {b}, skip: {{mode: concat, from: {a}}}}}
  - {{type: conv, channels: 4, name: {b}x, skip: {{mode: add, from: {a}}}, on_mismatch: project}}
  - {{type: inverted_residual, channels: 4, name: {b}y, se_ratio: 0.25}}
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("size", [10, 50, 62, 68, 75, 90])
def test_long_names_wrap_like_ruff_format(size: int, width: int) -> None:
    spec = _long_names_spec(size)
    text = skipgen.generate_source(spec, line_length=width)
    stdin = ("--stdin-filename", "long.py", "-")
    check = ruff("check", *stdin, stdin=text, line_length=width)
    assert check.returncode == 0, check.stdout
    fmt = ruff("format", "--check", "--diff", *stdin, stdin=text, line_length=width)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    flat_text = SHAPE_COMMENT.sub("", skipgen.generate_source(spec, line_length=10**6))
    formatted = ruff("format", *stdin, stdin=flat_text, line_length=width)
    assert formatted.stdout == SHAPE_COMMENT.sub("", text)


def test_a_line_length_below_88_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 88"):
        skipgen.generate_source(_long_names_spec(10), line_length=87)
