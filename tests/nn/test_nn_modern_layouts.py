"""MobileNetV3's and EfficientNetV2's blocks: keys and shapes from torchvision's models,
and what each layer computes.

The expected layouts are single blocks of torchvision's ``mobilenet_v3_large`` and
``efficientnet_v2_s``, taken from the reference state dicts in ``tests/reference/data``.
"""

import json
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from skipgen.nn import ConvNormAct, InvertedResidual, MBConv, MLPClassifier, SqueezeExcitation

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
BN_V3 = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
BN_V2 = partial(nn.BatchNorm2d, eps=1e-3)


def layout(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(value.shape)) for key, value in module.state_dict().items()]


def reference_block(model: str, prefix: str) -> list[tuple[str, tuple[int, ...]]]:
    """One block's state_dict keys and shapes in a torchvision model, without ``prefix``."""
    state = json.loads((DATA / f"{model}.json").read_text(encoding="utf-8"))["state_dict"]
    return [(k.removeprefix(prefix), tuple(s)) for k, s in state if k.startswith(prefix)]


def randomize(module: nn.Module) -> nn.Module:
    for tensor in module.state_dict().values():
        if tensor.is_floating_point():
            tensor.uniform_(0.5, 1.5)
    return module.eval()


def test_mobilenet_v3_blocks_have_torchvisions_layout():
    # features.4: 24 -> 40, exp size 72, kernel 5, stride 2, squeeze-excitation of
    # make_divisible(72 // 4, 8) = 24 channels, relu.
    se_block = MBConv(
        24,
        40,
        2,
        hidden_channels=72,
        kernel_size=5,
        se_channels=24,
        act="relu",
        se_gate="hardsigmoid",
        skip="none",
        norm_layer=BN_V3,
    )
    assert layout(se_block) == reference_block("mobilenet_v3_large", "features.4.")
    # features.11: 80 -> 112, exp size 480, hardswish, squeeze-excitation of 120 with relu.
    hs_block = MBConv(
        80,
        112,
        hidden_channels=480,
        se_channels=120,
        act="hardswish",
        se_act="relu",
        se_gate="hardsigmoid",
        skip="none",
        norm_layer=BN_V3,
    )
    assert layout(hs_block) == reference_block("mobilenet_v3_large", "features.11.")
    assert type(hs_block.block[0][2]) is nn.Hardswish
    se = hs_block.block[2]
    assert (type(se.activation), type(se.scale_activation)) == (nn.ReLU, nn.Hardsigmoid)


def test_squeeze_excitation_gates_with_hardsigmoid():
    se = randomize(SqueezeExcitation(8, 4, act="relu", gate="hardsigmoid"))
    x = torch.randn(2, 8, 5, 5)
    squeezed = torch.relu(se.fc1(x.mean(dim=(2, 3), keepdim=True)))
    expected = x * nn.functional.hardsigmoid(se.fc2(squeezed))
    torch.testing.assert_close(se(x), expected)


def test_fused_mbconv_has_torchvisions_layout():
    # features.1.0: expansion 1, a single 3x3 conv with norm and SiLU.
    single = MBConv(24, 24, hidden_channels=24, act="silu", fused=True, norm_layer=BN_V2)
    assert layout(single) == reference_block("efficientnet_v2_s", "features.1.0.")
    # features.2.0: expansion 4, stride 2: a 3x3 conv to 96 channels, then the projection.
    expanded = MBConv(
        24, 48, 2, hidden_channels=96, act="silu", fused=True, skip="none", norm_layer=BN_V2
    )
    assert layout(expanded) == reference_block("efficientnet_v2_s", "features.2.0.")


@pytest.mark.parametrize("hidden_channels", [8, 32])
def test_fused_mbconv_computes_the_full_conv_then_the_projection(hidden_channels):
    block = randomize(MBConv(8, 8, hidden_channels=hidden_channels, fused=True))
    x = torch.randn(2, 8, 6, 6)
    first = block.block[0]
    assert isinstance(first, ConvNormAct)
    assert (first[0].kernel_size, first[0].groups) == ((3, 3), 1)  # a full conv
    assert first[0].out_channels == hidden_channels
    branch = first(x) if hidden_channels == 8 else block.block[1](first(x))
    torch.testing.assert_close(block(x), branch + x)


@pytest.mark.parametrize("hidden_channels", [8, 32])
def test_fused_layouts_compute_the_same(hidden_channels):
    kwargs = {"hidden_channels": hidden_channels, "fused": True, "act": "silu"}
    v2 = randomize(InvertedResidual(8, 8, **kwargs))
    mbconv = MBConv(8, 8, **kwargs).eval()
    weights = zip(mbconv.state_dict(), v2.state_dict().values(), strict=True)
    mbconv.load_state_dict(dict(weights))
    x = torch.randn(2, 8, 6, 6)
    torch.testing.assert_close(mbconv(x), v2(x), rtol=0, atol=0)


def test_mlp_classifier_has_torchvisions_layout_and_computes_it():
    head = MLPClassifier(960, 1280, 1000, act="hardswish", dropout=0.2)
    expected = reference_block("mobilenet_v3_large", "classifier.")
    assert layout(head) == expected
    assert [type(m) for m in head][1:] == [nn.Hardswish, nn.Dropout, nn.Linear]
    head = randomize(MLPClassifier(6, 5, 3, act="hardswish", dropout=0.5))
    x = torch.randn(2, 6, 4, 4)
    hidden = nn.functional.hardswish(
        nn.functional.linear(x.mean(dim=(2, 3)), *head[0].parameters())
    )
    torch.testing.assert_close(head(x), head[3](hidden))
