"""libyaml's reader, where PyYAML has it, reads every spec as the pure-Python reader does:
the same data and the same position for every value and key; and an error is the
pure-Python reader's, word for word and place for place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from skipgen.errors import SpecError
from skipgen.language import load
from skipgen.language.limits import MAX_DEPTH
from tests.strategies import fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
TEXTS = sorted([*ROOT.glob("configs/*.yaml"), *ROOT.glob("tests/language/bad/*.yaml")], key=str)

needs_libyaml = pytest.mark.skipif(
    load._FastCheckedLoader is None, reason="PyYAML was built without libyaml"
)


def _read(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What load_yaml gives for ``text`` with one reader: data and positions, or errors."""
    if not fast:
        monkeypatch.setattr(load, "_FastCheckedLoader", None)
    try:
        data, positions = load.load_yaml(text, "spec.yaml")
    except SpecError as error:
        result: Any = ("errors", [str(d) for d in error.diagnostics])
    else:
        result = ("data", repr(data), positions.values, positions.keys)
    monkeypatch.undo()
    return result


@needs_libyaml
def test_the_fast_reader_is_used_where_pyyaml_has_libyaml() -> None:
    assert yaml.__with_libyaml__
    fast = load._FastCheckedLoader
    assert fast is not None and issubclass(fast, yaml.CSafeLoader)


@needs_libyaml
@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_both_readers_give_the_same_data_positions_and_errors(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")  # one file is not UTF-8
    assert _read(text, True, monkeypatch) == _read(text, False, monkeypatch)


# Fragments of YAML that the readers must agree on: flow and block collections, anchors,
# merge keys, quoting, non-ASCII text before a value on its line, comments, errors. (A tab
# after a colon is where they differ: libyaml reads it as YAML 1.2 says, as separating
# space, and the pure-Python reader refuses it.)
_PIECES = [
    "a: 1\n",
    "b: [1, 2, {c: d}]\n",
    'é: "ü\\u00e9"  # comment\n',
    "x: &anchor {k: 1}\n",
    "y: *anchor\n",
    "z: {<<: *anchor, m: 2}\n",
    "- item\n",
    "  nested: value\n",
    "q: 'it''s'\n",
    "bad: [unclosed\n",
    "dup: 1\ndup: 2\n",
    "n: 0x1F\n",
    "f: .inf\n",
    "s: |\n  block text\n",
    "\u00e9\u00e9\u00e9: [\u00fc, \u00fc]\n",
    "- [[[[[]]]]]\n",
    "bell: \x07\n",
    'sur: "\\ud800"\n',
    "%YAML 1.1\n---\n",
    "--- \n",
    "? complex\n: key\n",
    "!!python/object:os.system x: 1\n",
]


@needs_libyaml
@fuzz_settings(60)
@given(st.lists(st.sampled_from(_PIECES), max_size=8))
def test_both_readers_agree_on_any_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _read(text, True, monkeypatch) == _read(text, False, monkeypatch)


@needs_libyaml
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than"),
        (
            "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\n",
            "aliases expand",
        ),
        ("a: &a [x, *a]\n", "refers to the node that contains it"),
    ],
)
def test_the_fast_reader_itself_keeps_the_limits(text: str, words: str) -> None:
    """libyaml's reader refuses what the limits refuse before composing it (the diagnostic's
    words then come from the pure-Python reader)."""
    with pytest.raises(load._Refused, match=words):
        yaml.compose(text, Loader=load._FastCheckedLoader)
