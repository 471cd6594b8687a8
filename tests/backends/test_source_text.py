"""A spec's free text reaches the emitted file only as data: the file always compiles, and
importing it runs nothing but the definitions of its classes and functions.

The text fields are a composite block's ``description``, its parameters' descriptions and
the defaults and values of its ``str`` parameters (which a class whose numbers are written
out shows in its docstring). The random test compares the emitted file's syntax tree with
that of the same spec whose texts are all ``"x"``: where the trees differ only in string
constants, no text became code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import skipgen
from skipgen.backends.text import comment, docstring, string_literal
from skipgen.errors import SpecError
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings

PAYLOAD = '"""; __import__("os").mkdir("ran"); """'


def _spec(description: str, note: str = "n", names: tuple[str, str] = ("pair", "pair")) -> str:
    """Two uses of one block; ``scaling.width`` makes their numbers something no argument of
    one class gives, so that each use gets a class with its numbers (``note``) written out."""
    spec = {
        "name": "Net",
        "input": {"channels": 3, "size": 8},
        "scaling": {"width": 1.37, "divisor": 1},
        "blocks": {
            name: {
                "description": description,
                "params": {"channels": "int", "note": {"type": "str", "default": note}},
                "layers": [{"type": "conv", "channels": "${channels}"}],
            }
            for name in dict.fromkeys(names)
        },
        "layers": [
            {"type": names[0], "channels": 8},
            {"type": names[1], "channels": 13, "note": note},
        ],
    }
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def _build_and_import(spec: str, folder: Path) -> str:
    """Build ``spec`` through the CLI, import the file in a fresh interpreter in ``folder``
    and answer the file's text; nothing may appear in ``folder`` but the two files."""
    (folder / "spec.yaml").write_text(spec, encoding="utf-8")
    cli = [sys.executable, "-m", "skipgen", "build", "spec.yaml", "-o", "net.py"]
    built = subprocess.run(cli, cwd=folder, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    run = [sys.executable, "-c", "import net"]
    imported = subprocess.run(run, cwd=folder, capture_output=True, text=True, check=False)
    assert imported.returncode == 0, imported.stderr
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == [
        "net.py",
        "spec.yaml",
    ]
    return (folder / "net.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "description",
    [
        "x" + PAYLOAD,
        "a long description that the emitter wraps over several lines " * 2 + PAYLOAD,
        "ends in a quote: " + '"',
        '"starts with one',
        r"\N{foo} \xZZ \u12 \ and a NUL: " + "\0",
        "a line\nbreak, a \u2028 separator, a \u202e right-to-left mark",
        "ends in a backslash \\",
    ],
)
def test_a_description_is_data_in_the_class_docstring(description: str, tmp_path: Path) -> None:
    source = _build_and_import(_spec(description, names=("pair", "other")), tmp_path)
    classes = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    said = ast.get_docstring(classes["Pair"], clean=False) or ""
    assert " ".join(said.split()).startswith(" ".join(description.rstrip(".").split()))


def test_a_str_value_is_data_in_a_class_whose_numbers_are_written_out(tmp_path: Path) -> None:
    source = _build_and_import(_spec("d", note="y" + PAYLOAD), tmp_path)
    classes = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    assert {"Pair", "Pair2"} <= set(classes)  # each use has its own class
    for name in ("Pair", "Pair2"):
        said = " ".join((ast.get_docstring(classes[name]) or "").split())
        assert repr("y" + PAYLOAD) in said


@pytest.mark.parametrize(
    ("block", "cls"),
    [("none", "NoneBlock"), ("true_", "TrueBlock"), ("none_", "NoneBlock"), ("o", "OBlock")],
)
def test_a_block_whose_class_name_python_reserves_gets_another(
    block: str, cls: str, tmp_path: Path
) -> None:
    source = _build_and_import(_spec("d", names=(block, block)), tmp_path)
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert cls in names


@pytest.mark.parametrize(
    "text", ['"""', "'''", "\\", "\0", "a\nb", "\u202e", '"', "x\"'", "\U0001f600"]
)
def test_the_text_functions_make_literals_and_docstrings_that_say_the_text(text: str) -> None:
    assert ast.literal_eval(string_literal(text)) == text
    assert ast.literal_eval(docstring(text)) == " ".join(text.split())
    said = comment(text)
    assert "\n" not in said and "\r" not in said and said.isascii()
    assert said == text or ast.literal_eval(said) == text


# -- random text in every free-text field --------------------------------------------------

# Any text, often holding what could end a literal or a line, or start an escape.
_HOSTILE = ['"""', '"', "'''", "\\", "\\N{", "\\x", "\0", "\n", "\r", "\u2028", "\u202e", "#"]
_TEXT = st.lists(
    st.one_of(st.sampled_from(_HOSTILE), st.text(st.characters(exclude_categories=["Cs"]))),
    max_size=8,
).map("".join)


def _with_texts(spec: dict[str, Any], texts: st.DataObject | None) -> dict[str, Any]:
    """``spec`` with a ``note`` parameter (a str nothing reads) on every block and random
    text (``"x"`` where ``texts`` is None) in every free-text field."""

    def text() -> str:
        return "x" if texts is None else texts.draw(_TEXT)

    blocks = {}
    for name, block in spec["blocks"].items():
        params = {
            **block["params"],
            "note": {"type": "str", "default": text(), "description": text()},
        }
        blocks[name] = {**block, "description": text(), "params": params}
    layers = [_noted(layer, set(blocks), text) for layer in spec["layers"]]
    return {**spec, "blocks": blocks, "layers": layers}


def _noted(layer: dict[str, Any], blocks: set[str], text: Any) -> dict[str, Any]:
    if layer["type"] == "sequence":
        return {**layer, "layers": [_noted(inner, blocks, text) for inner in layer["layers"]]}
    return {**layer, "note": text()} if layer["type"] in blocks else layer


def _shape(source: str) -> str:
    """The syntax tree of ``source`` with every string constant's text left out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def _source(spec: dict[str, Any]) -> str | None:
    try:
        return skipgen.generate_source(yaml.safe_dump(spec, sort_keys=False))
    except SpecError:
        return None


@fuzz_settings(25)
@given(spec=composite_specs(), texts=st.data())
def test_random_text_in_every_free_text_field_stays_data(
    spec: dict[str, Any], texts: st.DataObject
) -> None:
    plain = _source(_with_texts(spec, None))
    if plain is None:
        return  # an invalid spec, whatever its texts: its errors are tested elsewhere
    source = _source(_with_texts(spec, texts))
    assert source is not None
    compile(source, "net.py", "exec")
    assert _shape(source) == _shape(plain)
