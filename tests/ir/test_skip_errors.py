"""A long skip reaches any depth: from a layer four sequences deep, onto one, and from a
block's body used deep inside sequences; both backends compute the same."""

from __future__ import annotations

import textwrap

from tests.backends.helpers import assert_backends_agree


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
input: {channels: 3, size: 8}
layers:
  - {type: conv, channels: 8, id: top}
"""


def assert_runs_alike(text: str) -> None:
    assert_backends_agree(text, (2, 3, 8, 8))


def test_a_source_four_sequences_deep_is_read() -> None:
    body = nested("{type: conv, channels: 8, id: deep}")
    reader = "  - {type: conv, channels: 8, skip: {mode: add, from: deep}}\n"
    assert_runs_alike(HEAD + textwrap.indent(textwrap.dedent(body), "  ") + reader)


def test_a_source_in_an_unnamed_sequence_is_read_by_its_id() -> None:
    body = nested("{type: conv, channels: 8, id: deep}", last="checkpoint: false")
    reader = "  - {type: conv, channels: 8, skip: {mode: add, from: deep}}\n"
    assert_runs_alike(HEAD + textwrap.indent(textwrap.dedent(body), "  ") + reader)


def test_a_reader_four_sequences_deep_reads_an_earlier_layer() -> None:
    body = nested("{type: conv, channels: 8, skip: {mode: add, from: top}}")
    assert_runs_alike(HEAD + textwrap.indent(textwrap.dedent(body), "  "))


def test_a_block_used_deep_inside_sequences_reads_a_layer_outside() -> None:
    spec = """\
    name: Net
    input: {channels: 3, size: 8}
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
    assert_runs_alike(textwrap.dedent(spec))
