"""A long skip's reader or source too deep: the hint says what `from` accepts (an id, or a
name used once), never a module path, and names the sequence to move the layer out of."""

from __future__ import annotations

import textwrap
from pathlib import Path

from typer.testing import CliRunner

from skipgen.cli import app


def validate(folder: Path, text: str) -> tuple[int, str]:
    path = folder / "net.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.stderr


def nested(inner: str, last: str = "name: d") -> str:
    """Four sequences, a, b, c and the innermost (``last``), around ``inner``."""
    return f"""\
      - type: sequence
        name: a
        layers:
          - type: sequence
            name: b
            layers:
              - type: sequence
                name: c
                layers:
                  - type: sequence
                    {last}
                    layers:
                      - {inner}
    """


HEAD = """\
name: Net
input: {channels: 3}
layers:
  - {type: conv, channels: 8, id: top}
"""


def test_a_source_too_deep_is_read_by_the_name_of_its_sequence(tmp_path: Path) -> None:
    body = nested("{type: conv, channels: 8, id: deep}")
    reader = "  - {type: conv, channels: 8, skip: {mode: add, from: deep}}\n"
    code, err = validate(tmp_path, HEAD + textwrap.indent(textwrap.dedent(body), "  ") + reader)
    assert code == 1
    assert "'deep' is 4 sequences deep; a long skip reaches 3 deep at most" in err
    hint = (
        "hint: move the layer out of the sequence 'd' "
        "(layers[1].layers[0].layers[0].layers[0]), or read that whole sequence: `from: d`"
    )
    assert hint in err
    # what the hint says to write is accepted
    fixed = HEAD + textwrap.indent(textwrap.dedent(body), "  ") + reader.replace("deep}", "d}")
    assert validate(tmp_path, fixed)[0] == 0


def test_a_source_in_an_unnamed_sequence_is_read_by_an_id(tmp_path: Path) -> None:
    body = nested("{type: conv, channels: 8, id: deep}", last="checkpoint: false")
    reader = "  - {type: conv, channels: 8, skip: {mode: add, from: deep}}\n"
    code, err = validate(tmp_path, HEAD + textwrap.indent(textwrap.dedent(body), "  ") + reader)
    assert code == 1
    assert (
        "or give that sequence (layers[1].layers[0].layers[0].layers[0]) an `id` and read it"
    ) in err
    assert "refer to layers[" not in err


def test_a_reader_too_deep_is_told_to_move_not_to_refer(tmp_path: Path) -> None:
    body = nested("{type: conv, channels: 8, skip: {mode: add, from: top}}")
    code, err = validate(tmp_path, HEAD + textwrap.indent(textwrap.dedent(body), "  "))
    assert code == 1
    assert "this layer is 4 sequences deep; a long skip reaches 3 deep at most" in err
    assert (
        "hint: move the layer out of the sequence 'd' (layers[1].layers[0].layers[0].layers[0]),"
        " to at most 3 sequences deep"
    ) in err


def test_a_reader_in_a_body_is_told_where_to_use_the_block(tmp_path: Path) -> None:
    spec = """\
    name: Net
    input: {channels: 3}
    blocks:
      up:
        layers:
          - {type: conv, channels: 8, skip: {mode: add, from: top}}
    layers:
      - {type: conv, channels: 8, id: top}
      - type: sequence
        name: a
        layers:
          - type: sequence
            name: b
            layers:
              - type: sequence
                layers:
                  - {type: up}
    """
    code, err = validate(tmp_path, spec)
    assert code == 1
    assert "blocks.up.layers[0].skip.from: this layer is 4 sequences deep" in err
    assert (
        "hint: a block's body is one level inside its use: use the block 'up' "
        "(layers[1].layers[0].layers[0].layers[0]) at most 2 sequences deep"
    ) in err
