"""What the language does without being told, as the README states it: which layers the
width multiplier scales, where a conv has a bias, and the squeeze-and-excitation's gate,
inner activation and width."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import skipgen


def spec(*layers: dict[str, Any], **top: Any) -> dict[str, Any]:
    data = {"name": "Net", "input": {"channels": 3, "size": 16}, **top}
    return {**data, "layers": list(layers)}


def out_channels(data: dict[str, Any]) -> list[int]:
    return [node.out_channels for node in skipgen.lower_spec(data).nodes()]


def test_the_width_multiplier_scales_every_channels_key_and_nothing_else() -> None:
    layers = [
        {"type": "conv", "channels": 16},
        {"type": "basic", "channels": 16},
        {"type": "bottleneck", "channels": 32, "inner_channels": 8, "group_width": 4},
        {"type": "inverted_residual", "channels": 16},
        {"type": "transition", "channels": 16},
        {"type": "upsample", "channels": 16},
        {"type": "dense", "layers": 1, "growth": 8},
        {"type": "conv", "channels": 16, "scale_width": False},
        {"type": "classifier", "classes": 10, "hidden": 24},
    ]
    scaled = spec(*layers, scaling={"width": 1.5})
    # 16 * 1.5 = 24, 32 * 1.5 = 48; dense adds its unscaled growth; the opted-out conv and
    # the classifier keep theirs
    assert out_channels(scaled) == [24, 24, 48, 24, 24, 24, 32, 16, 10]
    model = skipgen.build_model(scaled)
    bottleneck = model.layer2
    assert bottleneck.conv2.out_channels == 8  # inner_channels, unscaled
    assert bottleneck.conv2.groups == 2  # group_width 4, unscaled
    assert model.classifier1[0].out_features == 24  # hidden, unscaled
    inverted = model.block1  # its expansion follows its scaled input: 48 * 6
    assert (
        sum(p.numel() for p in inverted.parameters())
        == skipgen.lower_spec(scaled).stages[3].nodes[0].params
    )
    assert max(m.out_channels for m in inverted.modules() if isinstance(m, nn.Conv2d)) == 288
    # a transition without `channels` follows its scaled input through `compression`
    halved = spec({"type": "conv", "channels": 16}, {"type": "transition"}, scaling={"width": 2.0})
    assert out_channels(halved) == [32, 16]


def test_a_conv_has_a_bias_only_where_no_norm_follows() -> None:
    def biases(norm: Any, **block: Any) -> list[bool]:
        layer = {"type": "bottleneck", "channels": 16, "stride": 2, "norm": norm, **block}
        model = skipgen.build_model(spec({"type": "conv", "channels": 8, "norm": norm}, layer))
        return [m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d)]

    # stem, conv1 .. conv3 of the bottleneck, its projection
    assert biases("none") == [True] * 5
    assert biases("batch") == [False] * 5
    assert biases({"type": "instance", "affine": False}) == [False] * 5
    assert biases({"type": "batch", "affine": False}) == [False] * 5
    # a pre-activated block projects with a bare conv: no norm, no bias
    preact = biases("batch", preact=True)
    assert preact == [False] * 5
    model = skipgen.build_model(
        spec({"type": "conv", "channels": 8}, {"type": "basic", "channels": 16, "preact": True})
    )
    (projection,) = model.layer1.downsample  # a 1x1 conv alone
    assert isinstance(projection, nn.Conv2d) and projection.bias is None
    explicit = spec({"type": "conv", "channels": 8, "bias": True}, defaults={"bias": True})
    assert skipgen.build_model(explicit).conv1[0].bias is not None


def test_the_squeeze_excitation_gates_with_a_sigmoid_after_the_blocks_activation() -> None:
    data = spec(
        {"type": "conv", "channels": 10, "act": "relu"},
        {"type": "inverted_residual", "channels": 10, "se_ratio": 0.25},
        {
            "type": "inverted_residual",
            "channels": 10,
            "se_ratio": 0.25,
            "se_base": "expanded",
            "se_divisor": 8,
            "se_act": "relu",
            "se_gate": "hardsigmoid",
        },
        {"type": "bottleneck", "channels": 40, "se_ratio": 0.25},
        defaults={"act": "silu"},
    )
    model = skipgen.build_model(data)
    mbconv_se = model.block1.conv[2]
    assert isinstance(mbconv_se.activation, nn.SiLU)  # the block's act
    assert isinstance(mbconv_se.scale_activation, nn.Sigmoid)
    assert mbconv_se.fc1.out_channels == 2  # int(10 input channels * 0.25)
    resnet_se = model.layer1.se
    assert isinstance(resnet_se.activation, nn.SiLU) and isinstance(
        resnet_se.scale_activation, nn.Sigmoid
    )
    assert resnet_se.fc1.out_channels == 2  # round(10 input channels * 0.25), half to even
    v3_se = model.block2.conv[2]
    # make_divisible(int(60 expanded * 0.25), 8) = 16: wider than the block's 10 input channels
    assert v3_se.fc1.out_channels == 16
    assert isinstance(v3_se.activation, nn.ReLU)
    assert isinstance(v3_se.scale_activation, nn.Hardsigmoid)
    x = torch.randn(1, 60, 4, 4)
    with torch.no_grad():
        scale = v3_se.scale_activation(
            v3_se.fc2(v3_se.activation(v3_se.fc1(x.mean((2, 3), keepdim=True))))
        )
        assert torch.allclose(v3_se(x), x * scale)
