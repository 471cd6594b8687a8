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
from skipgen.language import compose, load
from skipgen.language.limits import MAX_DEPTH
from tests.strategies import fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
TEXTS = sorted([*ROOT.glob("configs/*.yaml"), *ROOT.glob("tests/language/bad/*.yaml")], key=str)

needs_libyaml = pytest.mark.skipif(
    compose.FastCheckedLoader is None, reason="PyYAML was built without libyaml"
)


READERS = ["composed", "checked"]  # libyaml composing a short text whole, or parsing only


def _read(text: str, reader: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What load_yaml gives for ``text`` with one reader (``pure``: the pure-Python one):
    data and positions, or errors."""
    if reader != "composed":
        monkeypatch.setattr(compose, "ComposingYaml12Loader", None)
    if reader == "pure":
        monkeypatch.setattr(compose, "FastCheckedLoader", None)
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
    fast = compose.FastCheckedLoader
    assert fast is not None and issubclass(fast, yaml.CSafeLoader)


@needs_libyaml
@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_the_readers_give_the_same_data_positions_and_errors(
    path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")  # one file is not UTF-8
    assert _read(text, reader, monkeypatch) == _read(text, "pure", monkeypatch)


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
@given(st.lists(st.sampled_from(_PIECES), max_size=8), st.sampled_from(READERS))
def test_the_readers_agree_on_any_text(pieces: list[str], reader: str) -> None:
    text = "".join(pieces)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _read(text, reader, monkeypatch) == _read(text, "pure", monkeypatch)


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
def test_the_fast_readers_themselves_keep_the_limits(text: str, words: str) -> None:
    """libyaml's readers refuse what the limits refuse (the diagnostic's words then come
    from the pure-Python reader): parsing, before composing it; composing whole, on the
    tree it composed."""
    with pytest.raises(compose.Refused, match=words):
        yaml.compose(text, Loader=compose.FastCheckedLoader)
    composing = compose.ComposingYaml12Loader
    assert composing is not None
    assert not compose.within_limits(yaml.compose(text, Loader=composing))


@needs_libyaml
def test_a_tree_at_the_limits_is_within_them(monkeypatch: pytest.MonkeyPatch) -> None:
    composing = compose.ComposingYaml12Loader
    assert composing is not None
    deepest = "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # 64 with the mapping
    assert compose.within_limits(yaml.compose(deepest, Loader=composing))
    monkeypatch.setattr(compose, "MAX_NODES", 7)  # a mapping, a key, [1, 2] and an alias of it
    tree = yaml.compose("a: &l [1, 2]\nb: *l\n", Loader=composing)  # 1 + 1 + 3 + 1 + 3 = 9
    assert not compose.within_limits(tree)
    monkeypatch.setattr(compose, "MAX_NODES", 9)
    assert compose.within_limits(tree)
