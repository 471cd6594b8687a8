"""`register` states where modules sit in the state_dict apart from where they run: at the
top level, in a sequence (run layer by layer, since an nn.Sequential runs in its order),
and in a composite block's body; both backends and the torch-free state agree."""

from __future__ import annotations

import tempfile
from pathlib import Path

import skipgen
from skipgen.ir.state import state_shapes
from tests.backends.helpers import assert_equivalent, load_module

SPEC = """\
name: Net
input: {channels: 3, size: 8}
defaults: {norm: batch, act: relu}
register: [head, body]
blocks:
  unit:
    params: {c: int}
    register: [bn, conv]
    layers:
      - {type: conv, channels: "${c}", norm: none, act: none, name: conv}
      - {type: norm, act: none, name: bn}
layers:
  - type: sequence
    name: body
    register: ["1", "0"]
    layers:
      - {type: conv, channels: 4}
      - {type: unit, c: 4}
  - {type: conv, channels: 2, kernel: 1, name: head}
"""


def modules(keys: list[str]) -> list[str]:
    """The module of each tensor, in the order its first tensor comes."""
    return list(dict.fromkeys(key.rsplit(".", 1)[0] for key in keys))


def test_register_orders_the_state_dict_and_not_the_run() -> None:
    graph = skipgen.lower_spec(SPEC)
    model = skipgen.build_model(graph)
    keys = list(model.state_dict())
    assert modules(keys) == ["head.0", "head.1", "body.1.bn", "body.1.conv", "body.0.0", "body.0.1"]
    assert keys == [key for key, _ in state_shapes(graph).entries]
    with tempfile.TemporaryDirectory() as folder:
        module = load_module(skipgen.generate_source(SPEC), Path(folder))
        assert list(module.Net().state_dict()) == keys
        assert_equivalent(graph, module.Net, (2, 3, 8, 8))
