"""The shipped configs reproduce their references exactly.

For every config with a reference under ``data/`` (torchvision's models, the classic
U-Net): the parameter count, the order and shapes of the ``state_dict`` tensors, and the
output for deterministic weights and input, from the runtime model and from the emitted
source. Then the same configs, with only numbers changed, give torchvision's parameter
counts of their relatives (ResNet-152, ResNeXt, Wide ResNet, EfficientNet-B1..B7,
DenseNet-161/169/201): nothing is special-cased.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn

import skipgen
from skipgen.ir.graph import Group
from tests.backends.helpers import as_list, load_module

from .fill import fill, make_input

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
CONFIGS = HERE.parent.parent / "configs"
# The references measured for the graph language have tests of their own (test_graph_zoo).
GRAPH_MEASURED = {"googlenet", "squeezenet1_1", "shufflenet_v2_x1_0", "convnext_tiny"}
GRAPH_MEASURED |= {"deeplabv3_resnet50", "resnet50_fpn"}
REFERENCES = sorted(p.stem for p in DATA.glob("*.json") if p.stem not in GRAPH_MEASURED)
RESNETS = ["resnet18", "resnet34", "resnet50", "resnet101"]
OTHER_CONFIGS = sorted(
    p.stem for p in CONFIGS.glob("*.yaml") if p.stem not in {*REFERENCES, *GRAPH_MEASURED}
)
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/skipgen.schema.json"


@cache
def reference(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def config(name: str) -> Path:
    return CONFIGS / f"{name}.yaml"


def config_data(name: str) -> dict[str, Any]:
    return yaml.safe_load(config(name).read_text(encoding="utf-8"))


def shapes(model: nn.Module) -> list[list[int]]:
    return [list(t.shape) for t in model.state_dict().values()]


def keys_on_meta(name: str) -> list[str]:
    """The state_dict keys of a config's model, built without allocating its tensors."""
    with torch.device("meta"):
        return list(skipgen.build_model(config(name)).state_dict())


def assert_matches(out: torch.Tensor, ref: dict[str, Any]) -> None:
    assert list(out.shape) == ref["output_shape"]
    expected = torch.tensor(ref["output"], dtype=torch.float64).reshape(ref["output_shape"])
    error = (out - expected).abs().max().item()
    scale = expected.abs().max().item()
    assert error <= 1e-6 * scale, f"max |a - b| = {error:.3g}, max |b| = {scale:.3g}"


def run(model: nn.Module, input_shape: list[int]) -> torch.Tensor:
    fill(model)
    with torch.no_grad():
        return model(make_input(input_shape))


def emitted_model(source: str, class_name: str, folder: Path) -> nn.Module:
    """Write generated source to ``folder``, import it like a user would, instantiate it."""
    module = load_module(source, folder, f"generated_{class_name.lower()}")
    return getattr(module, class_name)()


@dataclass
class Case:
    name: str
    ref: dict[str, Any]
    params: int  # counted by the torch-free lowering
    model: nn.Module  # runtime model, float64, eval mode, filled by the reference rule


@pytest.fixture(scope="module", params=REFERENCES)
def case(request: pytest.FixtureRequest) -> Case:
    # Module scope with one param at a time: only one (large) model is alive at once.
    name = request.param
    graph = skipgen.lower_spec(config(name))
    return Case(name, reference(name), graph.params, fill(skipgen.build_model(graph)))


def test_every_reference_has_a_config() -> None:
    expected = [
        "densenet121",
        "efficientnet_b0",
        "efficientnet_v2_s",
        "mobilenet_v2",
        "mobilenet_v3_large",
        "regnet_y_400mf",
        "unet",
        "unet_resnet34",
        *RESNETS,
    ]
    assert sorted(expected) == REFERENCES
    assert all(config(name).is_file() for name in REFERENCES)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_configs_start_with_the_schema_line_and_say_what_they_are(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == SCHEMA_LINE
    assert lines[1].startswith("# ") and len(lines[1]) > 10


def test_parameter_count(case: Case) -> None:
    expected = case.ref["parameters"]
    assert case.params == expected
    assert sum(p.numel() for p in case.model.parameters() if p.requires_grad) == expected


def test_state_dict_shapes_in_order(case: Case) -> None:
    assert shapes(case.model) == [shape for _, shape in case.ref["state_dict"]]


def test_output_of_the_runtime_model(case: Case) -> None:
    with torch.no_grad():
        out = case.model(make_input(case.ref["input_shape"]))
    assert_matches(out, case.ref)


def test_output_of_the_emitted_source(case: Case, tmp_path: Path) -> None:
    spec = skipgen.load_spec(config(case.name))
    model = emitted_model(skipgen.generate_source(config(case.name)), spec.name, tmp_path)
    assert list(model.state_dict()) == list(case.model.state_dict())
    assert_matches(run(model, case.ref["input_shape"]), case.ref)


STRICT = [
    *RESNETS,
    "regnet_y_400mf",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "efficientnet_v2_s",
    "densenet121",
    "unet_resnet34",
]


def reference_state_dict(name: str) -> dict[str, torch.Tensor]:
    """A checkpoint with the reference's keys and shapes (torchvision's, for these names)."""
    return {
        key: torch.zeros(shape, dtype=torch.long if key.endswith("num_batches_tracked") else None)
        for key, shape in reference(name)["state_dict"]
    }


@pytest.mark.parametrize("name", STRICT)
def test_the_reference_checkpoint_loads_strictly(name: str, tmp_path: Path) -> None:
    """torchvision's checkpoints load into the runtime model and the emitted class with
    ``load_state_dict(strict=True)``: every key has torchvision's name and shape."""
    checkpoint = reference_state_dict(name)
    with torch.device("meta"):
        runtime = skipgen.build_model(config(name))
        spec = skipgen.load_spec(config(name))
        emitted = emitted_model(skipgen.generate_source(config(name)), spec.name, tmp_path)
    for model in (runtime, emitted):
        result = model.load_state_dict(checkpoint, strict=True, assign=True)
        assert (result.missing_keys, result.unexpected_keys) == ([], [])
        assert list(model.state_dict()) == list(checkpoint)


SMALL_INPUT = {1: 256, 2: 16, 3: 8}  # every shipped config accepts these sizes


@pytest.mark.parametrize("name", OTHER_CONFIGS)
def test_emitted_source_matches_the_runtime_model(name: str, tmp_path: Path) -> None:
    """Configs without a reference: the two backends agree, tensor for tensor."""
    data = config_data(name)
    data["input"]["size"] = SMALL_INPUT[data["input"].get("dims", 2)]
    graph = skipgen.lower_spec(data)
    runtime = fill(skipgen.build_model(graph))
    emitted = emitted_model(skipgen.generate_source(config(name)), graph.name, tmp_path)
    assert list(emitted.state_dict()) == list(runtime.state_dict())
    emitted.double().eval().load_state_dict(runtime.state_dict())
    x = make_input(graph.input_shape(2))
    with torch.no_grad():
        outs = as_list(runtime(x)), as_list(emitted(x))
    shapes = [o.shape(graph.axes, 2) for o in graph.outputs] or [graph.output_shape(2)]
    assert [tuple(a.shape) for a in outs[0]] == shapes
    for a, b in zip(*outs, strict=True):
        assert (a - b).abs().max().item() <= 1e-12 * a.abs().max().item()


# -- relatives: the same configs with numbers changed ---------------------------------------
# Parameter counts as published by torchvision for its models of these names.


def with_bottlenecks(name: str, **fields: Any) -> dict[str, Any]:
    data = config_data(name)
    for layer in data["layers"]:
        if layer["type"] == "bottleneck":
            layer.update(fields)
    return data


def test_resnext50_32x4d() -> None:
    data = with_bottlenecks("resnet50", groups=32, base_width=4)
    data["name"] = "ResNeXt50_32x4d"
    assert skipgen.lower_spec(data).params == 25_028_904
    model = skipgen.build_model(data)
    assert sum(p.numel() for p in model.parameters()) == 25_028_904
    assert model.layer1[0].conv2.groups == 32
    assert shapes(model)[:8] == [[64, 3, 7, 7], *[[64]] * 4, [], [128, 64, 1, 1], [128]]


@pytest.mark.parametrize(
    ("base", "groups", "base_width", "params"),
    [
        ("resnet50", 1, 128, 68_883_240),  # wide_resnet50_2
        ("resnet101", 1, 128, 126_886_696),  # wide_resnet101_2
        ("resnet101", 32, 8, 88_791_336),  # resnext101_32x8d
        ("resnet101", 64, 4, 83_455_272),  # resnext101_64x4d
    ],
)
def test_wide_resnets_and_resnexts(base: str, groups: int, base_width: int, params: int) -> None:
    data = with_bottlenecks(base, groups=groups, base_width=base_width)
    assert skipgen.lower_spec(data).params == params


def test_resnet152() -> None:
    data = config_data("resnet50")
    layers = {layer.get("name"): layer for layer in data["layers"]}
    layers["layer2"]["repeat"], layers["layer3"]["repeat"] = 8, 36
    assert skipgen.lower_spec(data).params == 60_192_808


def test_efficientnet_b1() -> None:
    data = config_data("efficientnet_b0")
    data["scaling"] = {"width": 1.0, "depth": 1.1}
    data["input"]["size"] = 240
    graph = skipgen.lower_spec(data)
    assert graph.params == 7_794_184
    features = graph.stages[0]
    assert isinstance(features, Group)
    stages = features.members[1:-1]  # between the stem and the head
    blocks = [len(s.members) for s in stages if isinstance(s, Group)]
    assert blocks == [2, 3, 3, 4, 4, 5, 2]  # ceil(1.1 * [1, 2, 2, 3, 3, 4, 1])


@pytest.mark.parametrize(
    ("width", "depth", "params"),
    [
        (1.1, 1.2, 9_109_994),  # efficientnet_b2
        (1.2, 1.4, 12_233_232),  # efficientnet_b3
        (1.4, 1.8, 19_341_616),  # efficientnet_b4
        (1.6, 2.2, 30_389_784),  # efficientnet_b5
        (1.8, 2.6, 43_040_704),  # efficientnet_b6
        (2.0, 3.1, 66_347_960),  # efficientnet_b7
    ],
)
def test_efficientnet_b2_to_b7(width: float, depth: float, params: int) -> None:
    data = config_data("efficientnet_b0")
    data["scaling"] = {"width": width, "depth": depth}
    assert skipgen.lower_spec(data).params == params


@pytest.mark.parametrize(
    ("stem", "growth", "blocks", "params"),
    [
        (64, 32, (6, 12, 32, 32), 14_149_480),  # densenet169
        (64, 32, (6, 12, 48, 32), 20_013_928),  # densenet201
        (96, 48, (6, 12, 36, 24), 28_681_000),  # densenet161
    ],
)
def test_other_densenets(stem: int, growth: int, blocks: tuple[int, ...], params: int) -> None:
    data = config_data("densenet121")
    features = data["layers"][0]["layers"]
    features[0]["channels"] = stem
    dense = [layer for layer in features if layer["type"] == "dense"]
    for layer, n in zip(dense, blocks, strict=True):
        layer.update(layers=n, growth=growth)
    assert skipgen.lower_spec(data).params == params
