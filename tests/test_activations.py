"""Activations with parameters (leaky_relu's slope, prelu's learned slopes) and the plain
names, in both backends, against torch's own layers or an independent computation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from skipgen.nn import act_layer
from tests.backends.helpers import assert_equivalent, load_module

SHAPES = {1: (2, 8, 16), 2: (2, 8, 8, 8), 3: (2, 8, 4, 4, 4)}


def spec(*layers: dict[str, Any], dims: int = 2, **top: Any) -> dict[str, Any]:
    size = {1: 16, 2: 8, 3: 4}[dims]
    data = {"name": "Net", "input": {"channels": 8, "dims": dims, "size": size}, **top}
    return {**data, "layers": list(layers)}


def messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [d.message for d in caught.value.diagnostics]


def only(model: nn.Module) -> nn.Module:
    (child,) = model.children()
    return child


# -- activations ---------------------------------------------------------------------------


def test_leaky_relu_takes_its_slope_where_a_plain_name_keeps_torchs() -> None:
    layer = only(
        skipgen.build_model(spec({"type": "act", "act": {"type": "leaky_relu", "slope": 0.2}}))
    )
    assert isinstance(layer, nn.LeakyReLU)
    assert layer.negative_slope == 0.2
    x = torch.randn(SHAPES[2])
    assert torch.equal(layer(x), torch.where(x > 0, x, 0.2 * x))
    plain = only(skipgen.build_model(spec({"type": "act", "act": "leaky_relu"})))
    assert isinstance(plain, nn.LeakyReLU) and plain.negative_slope == 0.01


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_a_conv_with_parametrized_activations_computes_conv_norm_then_the_activation(
    dims: int,
) -> None:
    act = {"type": "leaky_relu", "slope": 0.3}
    model = skipgen.build_model(spec({"type": "conv", "channels": 4, "act": act}, dims=dims))
    conv, norm, leaky = only(model)
    assert isinstance(leaky, nn.LeakyReLU) and leaky.negative_slope == 0.3
    model.eval()
    x = torch.randn(SHAPES[dims])
    expected = nn.functional.leaky_relu(norm(conv(x)), 0.3)
    assert torch.allclose(model(x), expected)


def test_prelu_learns_one_slope_or_one_per_channel_as_torchs() -> None:
    one = only(skipgen.build_model(spec({"type": "act", "act": "prelu"})))
    assert isinstance(one, nn.PReLU) and one.weight.shape == (1,)
    per = spec({"type": "conv", "channels": 6, "act": {"type": "prelu", "per_channel": True}})
    model = skipgen.build_model(per)
    *_, prelu = only(model)
    assert isinstance(prelu, nn.PReLU) and prelu.weight.shape == (6,)
    assert skipgen.lower_spec(per).params == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        prelu.weight.copy_(torch.arange(6.0) / 10)
    x = torch.randn(2, 6, 4, 4)
    slopes = (torch.arange(6.0) / 10).view(1, 6, 1, 1)
    assert torch.allclose(prelu(x), torch.where(x > 0, x, slopes * x))


def test_the_plain_names_and_hardsigmoid_are_torchs_layers() -> None:
    for name, layer in [("hardsigmoid", nn.Hardsigmoid), ("prelu", nn.PReLU), ("gelu", nn.GELU)]:
        assert isinstance(act_layer(name), layer)
        assert isinstance(only(skipgen.build_model(spec({"type": "act", "act": name}))), layer)


# Every kind with PReLU layers in it: the parameters the lowering counts are the module's,
# and the emitted file builds the same module.
EVERY_KIND_PRELU = spec(
    {"type": "conv", "channels": 8, "act": {"type": "prelu", "per_channel": True}},
    {"type": "basic", "channels": 16, "stride": 2, "act": "prelu"},
    {"type": "basic", "channels": 16, "preact": True, "act": "prelu"},
    {"type": "bottleneck", "channels": 32, "act": "prelu", "se_ratio": 0.25},
    {"type": "bottleneck", "channels": 32, "act": "prelu", "preact": True},
    {
        "type": "bottleneck",
        "channels": 32,
        "act": "prelu",
        "se_ratio": 0.25,
        "layout": "regnet",
        "inner_channels": 16,
        "group_width": 8,
    },
    {"type": "inverted_residual", "channels": 32, "act": "prelu", "se_ratio": 0.25},
    {
        "type": "inverted_residual",
        "channels": 32,
        "expansion": 1,
        "se_ratio": 0.25,
        "se_act": "prelu",
    },
    {"type": "inverted_residual", "channels": 32, "fused": True, "act": "prelu"},
    {"type": "inverted_residual", "channels": 32, "fused": True, "expansion": 1, "act": "prelu"},
    {"type": "transition", "channels": 16, "act": {"type": "prelu", "per_channel": True}},
    {"type": "dense", "layers": 2, "growth": 8, "act": "prelu"},
    {"type": "norm", "act": {"type": "prelu", "per_channel": True}},
    {"type": "act", "act": {"type": "prelu", "per_channel": True}},
    {"type": "upsample", "channels": 8, "act": {"type": "prelu", "per_channel": True}},
    {"type": "conv", "channels": 8, "preact": True, "act": {"type": "prelu", "per_channel": True}},
    {
        "type": "classifier",
        "classes": 3,
        "hidden": 12,
        "act": {"type": "prelu", "per_channel": True},
    },
    defaults={"act": {"type": "leaky_relu", "slope": 0.1}},
)


def test_every_kind_counts_its_prelu_parameters_and_the_emitted_file_agrees(
    tmp_path: Path,
) -> None:
    graph = skipgen.lower_spec(EVERY_KIND_PRELU)
    model = skipgen.build_model(graph)
    for path, stage in graph.leaves():
        module = model.get_submodule(".".join(path))
        assert sum(n.params for n in stage.nodes) == sum(p.numel() for p in module.parameters())
    slopes = [m.weight.numel() for m in model.modules() if isinstance(m, nn.PReLU)]
    # conv; basic, pre-activation basic: one shared; bottleneck: shared and the SE's;
    # pre-activation bottleneck; regnet: a, b, se, after the add; inverted residual: expand,
    # depthwise, SE; at expansion 1 the SE's only (se_act); fused, fused at expansion 1;
    # transition; dense: two per layer; norm, act, upsample, pre-activated conv, classifier
    assert slopes == [8, *[1] * 15, 32, *[1] * 4, 32, 32, 8, 8, 12]
    source = skipgen.generate_source(EVERY_KIND_PRELU)
    assert "act=partial(nn.LeakyReLU, negative_slope=0.1)" in source
    assert "act=partial(nn.PReLU, num_parameters=8)" in source
    cls = load_module(source, tmp_path).Net
    assert_equivalent(graph, cls, (2, 8, 8, 8))


def test_a_per_channel_prelu_needs_a_layer_whose_activations_see_one_width() -> None:
    per_channel = {"type": "prelu", "per_channel": True}
    why = "a per-channel prelu needs the activations of a layer to see one channel count"
    own = spec({"type": "bottleneck", "channels": 32, "act": per_channel})
    assert messages(own) == [f"layers[0].act: {why}, and those of a bottleneck do not"]
    inherited = spec(
        {"type": "basic", "channels": 8},
        {"type": "conv", "channels": 8},
        defaults={"act": per_channel},
    )
    assert messages(inherited) == [f"defaults.act: {why}, and those of a basic do not (layers[0])"]
    layers_without_activations = spec(
        {"type": "conv", "channels": 8},
        {"type": "maxpool", "kernel": 2},
        {"type": "dropout"},
        {"type": "identity"},
        {"type": "classifier", "classes": 3},
        defaults={"act": per_channel},
    )
    assert skipgen.lower_spec(layers_without_activations).params == 8 * 8 * 9 + 2 * 8 + 8 + 27
    se = {"type": "inverted_residual", "channels": 8, "se_ratio": 0.25, "se_act": per_channel}
    assert messages(spec(se)) == [
        "layers[0].se_act: a per-channel prelu inside the squeeze-and-excitation is not supported"
    ]


@pytest.mark.parametrize(
    ("act", "message"),
    [
        ({"type": "relu", "slope": 0.1}, "layers[0].act.slope: slope applies only to leaky_relu"),
        (
            {"type": "leaky_relu", "per_channel": True},
            "layers[0].act.per_channel: per_channel applies only to prelu",
        ),
        ({"type": "leaky_relu", "slope": 2.0}, "layers[0].act.slope: must be at most 1"),
    ],
)
def test_an_activations_parameters_belong_to_it(act: dict[str, Any], message: str) -> None:
    assert messages(spec({"type": "conv", "channels": 8, "act": act})) == [message]
