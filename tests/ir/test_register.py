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


ALIASED = """\
name: Net
input: {channels: 3, size: 8}
defaults: {norm: batch, act: relu}
outputs: [main, aux]
layers:
  - {type: conv, channels: 4, id: stem}
  - {type: conv, channels: 2, kernel: 1, name: main}
  - {type: conv, channels: 2, kernel: 1, from: stem, name: aux, alias: deep_supervision}
"""


def test_an_alias_registers_the_same_module_under_a_second_key() -> None:
    graph = skipgen.lower_spec(ALIASED)
    model = skipgen.build_model(graph)
    keys = list(model.state_dict())
    aux = [key.removeprefix("aux.") for key in keys if key.startswith("aux.")]
    assert keys[-len(aux) :] == [f"deep_supervision.{key}" for key in aux]
    assert keys == [key for key, _ in state_shapes(graph).entries]
    assert model.get_submodule("aux") is model.get_submodule("deep_supervision")
    assert graph.params == sum(p.numel() for p in model.parameters())  # counted once
    with tempfile.TemporaryDirectory() as folder:
        source = skipgen.generate_source(ALIASED)
        assert "self.deep_supervision = self.aux" in source
        module = load_module(source, Path(folder))
        assert list(module.Net().state_dict()) == keys
        assert_equivalent(graph, module.Net, (2, 3, 8, 8))
