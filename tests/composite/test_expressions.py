"""The expressions of a composite's body compute small arithmetic and nothing else: hostile
text is refused before anything runs, and never reaches eval, exec or compile."""

from __future__ import annotations

import ast
import builtins

import pytest

from skipgen.composite.expr import ExprError, evaluate, expression_text, parse

PARAMS = {"channels": 64, "expansion": 1.5, "act": "relu", "flag": True}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("channels", 64),
        ("round(channels * expansion)", 96),
        ("channels // 3 + channels % 3", 22),
        ("-(channels - 1) * 2", -126),
        ("max(channels, 8, 16) / 2", 32.0),
        ("min(channels, 3)", 3),
        ("act", "relu"),
        ("flag", True),
        ("1_000 + 0.5", 1000.5),
    ],
)
def test_allowed_expressions_compute_as_python_would(text: str, value: object) -> None:
    assert evaluate(parse(text, PARAMS), PARAMS) == value
    if text not in PARAMS:  # the reference: Python's own arithmetic on the same text
        names = {"round": round, "min": min, "max": max, **PARAMS}
        tree = compile(ast.parse(text, mode="eval"), "<test>", "eval")
        assert evaluate(parse(text, PARAMS), PARAMS) == eval(tree, {"__builtins__": {}}, names)


HOSTILE = [
    "__import__('os').system('x')",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "round.__globals__",
    "lambda: 1",
    "[x for x in channels]",
    "9**9**9",
    "channels ** 2",
    "'a' * 10",
    "f'{channels}'",
    "open('/etc/passwd')",
    "globals()",
    "channels[0]",
    "channels if flag else 1",
    "channels < 3",
    "round(channels, ndigits=1)",
    "max(*channels)",
    "exec('1')",
    "x",
    "(" * 10000 + "1" + ")" * 10000,
    "1" * 500,
    "(" * 17 + "1" + ")" * 17,
    "10000000 * 10000000",
    "1e400",
    "channels / 0",
    "channels; 1",
    "channels\n1",
    "",
    "act + 1",
    "flag * 2",
    "~channels",
    "not channels",
    "channels and 1",
    "{1: 2}",
    "b'x'",
    "...",
    "None",
    "True",
    "__builtins__",
    "\\N{DIGIT ONE}",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expressions_are_refused_before_anything_runs(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_compile = builtins.compile

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("user text reached eval or exec")

    def parse_only(
        source: object, filename: object, mode: str, flags: int = 0, **kw: object
    ) -> object:
        assert flags & ast.PyCF_ONLY_AST, "user text was compiled to code"
        return real_compile(source, filename, mode, flags, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", parse_only)
    with pytest.raises(ExprError) as info:
        evaluate(parse(text, PARAMS), PARAMS)
    assert str(info.value) and info.value.hint


def test_an_expression_is_a_whole_value() -> None:
    assert expression_text("${channels}") == "channels"
    assert expression_text("conv") is None
    assert expression_text(64) is None
    with pytest.raises(ExprError, match="mixes text and an expression"):
        expression_text("conv_${channels}")


def test_unknown_names_say_which_parameters_there_are() -> None:
    with pytest.raises(ExprError) as info:
        parse("chanels * 2", PARAMS)
    assert "'chanels' is not a parameter" in str(info.value)
    assert info.value.hint == "parameters: channels, expansion, act, flag"
