"""What a layer's `from` reads, where the rules must see through sequences and merges.

A sequence's output is its last layer's: a merge that reads that layer by name reads the
sequence's output, and the sequence is not dead. A merge's sources have one size (it is
checked), so its output's size is every source's, whichever `from` lists first. (Specs that
must be refused, and their messages, are in tests/language/bad/ and bad_pending/.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

import skipgen
from tests.backends.helpers import assert_backends_agree, assert_equivalent, load_module

# The sequence `stage` is followed by a layer that reads `stem`; the add reads `last`, the
# sequence's last layer, whose output is the sequence's.
LAST_OF_SEQUENCE = """\
name: Net
input: {channels: 4, size: 8}
layers:
  - {type: conv, channels: 4, id: stem}
  - type: sequence
    name: stage
    layers:
      - {type: conv, channels: 4}
      - {type: conv, channels: 4, id: last}
  - {type: conv, channels: 4, from: stem, id: side}
  - {type: add, from: [last, side]}
"""

# The same inside a composite block's body: the sequence `inner` ends with the gate `g`,
# which the mul reads.
LAST_OF_SEQUENCE_IN_A_BODY = """\
name: Net
input: {channels: 4, size: 8}
blocks:
  unit:
    params: {c: int}
    layers:
      - {type: conv, channels: "${c}", name: a}
      - type: sequence
        name: inner
        layers:
          - {type: conv, channels: "${c}", name: b, from: input}
          - {type: conv, channels: 1, norm: none, act: sigmoid, name: g}
      - {type: mul, from: [a, g]}
layers:
  - {type: unit, c: 4}
"""


@pytest.mark.parametrize(
    "text", [LAST_OF_SEQUENCE, LAST_OF_SEQUENCE_IN_A_BODY], ids=["top", "body"]
)
def test_reading_the_last_layer_of_a_sequence_reads_the_sequence(text: str) -> None:
    assert_backends_agree(text, (2, 4, 8, 8))


def test_reading_the_sequence_by_its_name_is_accepted() -> None:
    """The same graph with the add reading the sequence by its own name works today."""
    text = LAST_OF_SEQUENCE.replace("from: [last, side]", "from: [stage, side]")
    assert_backends_agree(text, (2, 4, 8, 8))


# A gate read from outside the block scales its body; the block adds its input. `side` and
# the block's input are both the network's input upsampled: the same size at every input.
GATED = """\
name: Net
input: {channels: 2, size: 8}
blocks:
  gated:
    params: {c: int}
    layers:
      - {type: conv, channels: "${c}", kernel: 1, name: a}
      - {type: conv, channels: 1, kernel: 1, from: side, norm: none, act: sigmoid, name: gate}
      - {type: mul, from: [a, gate]}
layers:
  - {type: upsample, mode: nearest, id: side}
  - {type: upsample, from: input, mode: nearest}
  - {type: gated, c: 2, skip: add}
"""


def test_a_block_whose_body_merges_an_outside_read_keeps_its_skip() -> None:
    assert_backends_agree(GATED, (2, 2, 8, 8))


def test_the_order_of_a_merge_does_not_decide_whether_the_blocks_skip_is_accepted() -> None:
    text = GATED.replace("from: [a, gate]", "from: [gate, a]")
    assert_backends_agree(text, (2, 2, 8, 8))


# A long skip may read the input of the network (or of the block around it), as `from` does.
SKIP_FROM_INPUT = """\
name: Net
input: {channels: 4, size: 8}
layers:
  - {type: conv, channels: 4}
  - {type: conv, channels: 4, skip: {mode: add, from: input}}
"""


def test_a_long_skip_reads_the_input() -> None:
    graph = skipgen.lower_spec(SKIP_FROM_INPUT)
    [skip] = graph.long_skips()
    assert skip.described() == "add from input (identity)"
    with tempfile.TemporaryDirectory() as folder:
        source = skipgen.generate_source(SKIP_FROM_INPUT)
        assert "x = x + x_in" in source
        module = load_module(source, Path(folder))
        assert_equivalent(graph, module.Net, (2, 4, 8, 8))


# A residual branch scaled by a constant before the block adds its input (Inception-ResNet).
SCALED_RESIDUAL = """\
name: Net
input: {channels: 4, size: 8}
blocks:
  scaled:
    skip: add
    layers:
      - {type: conv, channels: 4}
      - {type: scale, init: 0.17, learned: false}
layers:
  - {type: scaled}
"""


def test_a_constant_scale_holds_nothing_and_scales() -> None:
    graph = skipgen.lower_spec(SCALED_RESIDUAL)
    model = skipgen.build_model(graph).eval()
    assert all(key.startswith("scaled1.conv1.") for key in model.state_dict())
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        branch = model.scaled1.conv1(x)
        assert torch.allclose(model(x), branch * 0.17 + x)
    with tempfile.TemporaryDirectory() as folder:
        module = load_module(skipgen.generate_source(SCALED_RESIDUAL), Path(folder))
        assert_equivalent(graph, module.Net, (2, 4, 8, 8))


# Both branches of the block read its input by name, the first one too: `input` inside a
# body is the block's input, the output of the layer before the use.
BRANCHES_FROM_INPUT = """\
name: Net
input: {channels: 4, size: 8}
blocks:
  branches:
    params: {c: int}
    layers:
      - {type: conv, channels: "${c}", kernel: 1, from: input, name: a}
      - {type: conv, channels: "${c}", kernel: 3, from: input, name: b}
      - {type: concat, from: [a, b]}
layers:
  - {type: conv, channels: 4}
  - {type: branches, c: 4}
"""


def test_a_body_that_starts_from_its_input_reads_the_layer_before_the_use() -> None:
    assert_backends_agree(BRANCHES_FROM_INPUT, (2, 4, 8, 8))
