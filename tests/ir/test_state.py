"""``state_shapes``: the keys and shapes of a network's ``state_dict``, read from the IR
without torch, are those of the built module, in the same order."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import skipgen
import skipgen.nn
from skipgen.errors import SpecError
from skipgen.ir.block_state import BLOCKS, UnknownBlock, call_state
from skipgen.ir.graph import Call, Graph, Stage
from skipgen.ir.state import state_shapes
from tests.composite.strategies import composite_specs
from tests.conftest import CONFIGS
from tests.strategies import fuzz_settings, specs
from tests.test_cli_summary import EVERY_BLOCK, PRIMITIVES, SHORTCUTS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # e.g. dropout on 1 channel


def built_state(graph: Graph) -> list[tuple[str, tuple[int, ...]]]:
    """What torch says: the built module's state_dict, key by key with shapes."""
    model = skipgen.build_model(graph)
    return [(key, tuple(tensor.shape)) for key, tensor in model.state_dict().items()]


def assert_state_is_torchs(graph: Graph) -> None:
    found = state_shapes(graph)
    assert found.unknown == ()
    assert list(found.entries) == built_state(graph)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_config_has_the_built_modules_keys_shapes_and_order(config: Path) -> None:
    assert_state_is_torchs(skipgen.lower_spec(config))


@pytest.mark.parametrize(
    "text", [EVERY_BLOCK, PRIMITIVES, SHORTCUTS], ids=["every_block", "primitives", "shortcuts"]
)
def test_every_block_class_norm_and_shortcut_form(text: str, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    assert_state_is_torchs(skipgen.lower_spec(spec))


# What the configs and the block specs above leave out: 3-d and 1-d norms, group norm,
# memory-efficient dense blocks, Fused-MBConv and MobileNetV2's layout with expansion,
# a regnet block that projects first, a shortcut registered first, and an MLP head
# with no activation.
OPTIONS = """\
name: Options
input: {channels: 2, dims: 3, size: 16}
defaults: {norm: {type: group, groups: 2}, act: silu}
layers:
  - {type: conv, channels: 8, norm: {type: batch, affine: false}}
  - {type: dense, layers: 2, growth: 4, memory_efficient: true}
  - {type: inverted_residual, channels: 16, expansion: 4, fused: true, stride: 2}
  - {type: inverted_residual, channels: 16, expansion: 4, layout: mobilenet_v2}
  - {type: bottleneck, channels: 32, layout: regnet, group_width: 8, stride: 2, se_ratio: 0.25}
  - {type: basic, channels: 48, stride: 2, shortcut: {registered: first, norm: instance}}
  - {type: classifier, classes: 3, hidden: 10, act: none}
"""


def test_the_options_the_configs_leave_out(tmp_path: Path) -> None:
    spec = tmp_path / "options.yaml"
    spec.write_text(OPTIONS)
    assert_state_is_torchs(skipgen.lower_spec(spec))


@fuzz_settings(40, HealthCheck.function_scoped_fixture)
@given(spec=st.one_of(specs(), composite_specs()))
def test_a_random_spec_has_the_built_modules_state(spec: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        graph = skipgen.lower_spec(path)
    except SpecError:
        return  # an invalid spec: what it says is tested elsewhere
    assert_state_is_torchs(graph)


@pytest.mark.parametrize("target", sorted(BLOCKS))
def test_each_rule_names_its_blocks_positional_parameters_in_order(target: str) -> None:
    positional, _ = BLOCKS[target]
    signature = inspect.signature(getattr(skipgen.nn, target))
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = tuple(p.name for p in signature.parameters.values() if p.kind in kinds)
    assert positional == names[: len(positional)]


def test_a_block_class_it_cannot_read_is_listed_by_its_module_path() -> None:
    graph = skipgen.lower_spec(CONFIGS[0].parent / "resnet18.yaml")
    stages = list(graph.stages)
    layer1 = stages[4]
    assert isinstance(layer1, Stage) and layer1.attr == "layer1"
    foreign = replace(layer1.nodes[1], call=Call("PluginBlock", (64, 64)))
    stages[4] = replace(layer1, nodes=(layer1.nodes[0], foreign))
    found = state_shapes(replace(graph, stages=tuple(stages)))
    assert found.unknown == ("layer1.1",)
    known = [(k, s) for k, s in built_state(graph) if not k.startswith("layer1.1.")]
    assert list(found.entries) == known
    with pytest.raises(UnknownBlock):
        call_state(Call("PluginBlock"))
