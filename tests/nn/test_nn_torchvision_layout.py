"""State dict keys, order and shapes follow torchvision's hand-written models.

The expected layouts are written out from torchvision's model definitions
(``resnet.py``, ``mobilenetv2.py``, ``efficientnet.py``, ``densenet.py``).
"""

import inspect
import json
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from skipgen.nn import (
    REGISTRY,
    BasicBlock,
    Bottleneck,
    Classifier,
    ConvNormAct,
    DenseBlock,
    InvertedResidual,
    MBConv,
    NormAct,
    PreActBasicBlock,
    PreActBottleneck,
    Transition,
    UpConv,
)


def layout(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(value.shape)) for key, value in module.state_dict().items()]


def bn(prefix: str, channels: int) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (f"{prefix}.weight", (channels,)),
        (f"{prefix}.bias", (channels,)),
        (f"{prefix}.running_mean", (channels,)),
        (f"{prefix}.running_var", (channels,)),
        (f"{prefix}.num_batches_tracked", ()),
    ]


def test_basic_block_layout():
    expected = [
        ("conv1.weight", (16, 8, 3, 3)),
        *bn("bn1", 16),
        ("conv2.weight", (16, 16, 3, 3)),
        *bn("bn2", 16),
        ("downsample.0.weight", (16, 8, 1, 1)),
        *bn("downsample.1", 16),
    ]
    assert layout(BasicBlock(8, 16, 2, downsample=True)) == expected
    identity = [("conv1.weight", (16, 16, 3, 3)), *expected[1:12]]
    assert layout(BasicBlock(16, 16)) == identity


def test_bottleneck_layout():
    # torchvision resnet50 layer2.0, scaled down: inplanes 8, width 4, planes * 4 = 16.
    expected = [
        ("conv1.weight", (4, 8, 1, 1)),
        *bn("bn1", 4),
        ("conv2.weight", (4, 4, 3, 3)),
        *bn("bn2", 4),
        ("conv3.weight", (16, 4, 1, 1)),
        *bn("bn3", 16),
        ("downsample.0.weight", (16, 8, 1, 1)),
        *bn("downsample.1", 16),
    ]
    assert layout(Bottleneck(8, 16, 2, width=4, downsample=True)) == expected


def test_se_bottleneck_gates_after_bn3_as_se_resnet():
    # SE-ResNet (Hu et al.; timm's seresnet keys): se.fc1, se.fc2 between bn3 and downsample
    block = Bottleneck(8, 16, 2, width=4, se_channels=2, downsample=True).eval()
    keys = [key for key, _ in layout(block)]
    assert keys[keys.index("bn3.num_batches_tracked") + 1 :][:4] == [
        "se.fc1.weight",
        "se.fc1.bias",
        "se.fc2.weight",
        "se.fc2.bias",
    ]
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        branch = block.bn1(block.conv1(x)).relu()
        branch = block.bn3(block.conv3(block.bn2(block.conv2(branch)).relu()))
        squeezed = nn.functional.conv2d(branch.mean((2, 3), keepdim=True), block.se.fc1.weight)
        squeezed = (squeezed + block.se.fc1.bias.view(1, -1, 1, 1)).relu()
        gate = torch.sigmoid(block.se.fc2(squeezed))
        expected = (branch * gate + block.downsample(x)).relu()
        torch.testing.assert_close(block(x), expected)


def test_preact_bottleneck_layout():
    expected = [
        *bn("bn1", 8),
        ("conv1.weight", (4, 8, 1, 1)),
        *bn("bn2", 4),
        ("conv2.weight", (4, 4, 3, 3)),
        *bn("bn3", 4),
        ("conv3.weight", (16, 4, 1, 1)),
        ("downsample.0.weight", (16, 8, 1, 1)),
    ]
    assert layout(PreActBottleneck(8, 16, 2, width=4, downsample=True)) == expected


def test_preact_basic_block_computes_identity_mappings():
    # He et al. 2016, fig. 4(e): x + conv2(relu(bn2(conv1(relu(bn1(x)))))), the projection
    # taking the pre-activated input.
    block = PreActBasicBlock(4, 8, 2, downsample=True).eval()
    for tensor in block.state_dict().values():
        if tensor.is_floating_point():
            tensor.uniform_(0.5, 1.5)
    x = torch.randn(2, 4, 6, 6)
    pre = torch.relu(block.bn1(x))
    out = block.conv2(torch.relu(block.bn2(block.conv1(pre))))
    torch.testing.assert_close(block(x), out + block.downsample(pre))


def test_no_block_switches_on_a_preact_flag():
    for name, block in REGISTRY.items():
        if isinstance(block, type):
            assert "preact" not in inspect.signature(block).parameters, name


def test_mobilenet_v2_layouts():
    # features.2 of mobilenet_v2 (t=6), scaled down.
    expanded = [
        ("conv.0.0.weight", (48, 8, 1, 1)),
        *bn("conv.0.1", 48),
        ("conv.1.0.weight", (48, 1, 3, 3)),
        *bn("conv.1.1", 48),
        ("conv.2.weight", (12, 48, 1, 1)),
        *bn("conv.3", 12),
    ]
    assert layout(InvertedResidual(8, 12, 2, hidden_channels=48, skip="none")) == expanded
    # features.1 of mobilenet_v2 (t=1): no expansion layer.
    plain = [
        ("conv.0.0.weight", (8, 1, 3, 3)),
        *bn("conv.0.1", 8),
        ("conv.1.weight", (4, 8, 1, 1)),
        *bn("conv.2", 4),
    ]
    assert layout(InvertedResidual(8, 4, hidden_channels=8, skip="none")) == plain


def test_efficientnet_mbconv_shapes():
    # features.2.0 of efficientnet_b0 scaled down: tensor order and shapes (torchvision
    # names them block.N, the order of tensors is the same).
    block = InvertedResidual(
        8,
        12,
        2,
        hidden_channels=48,
        kernel_size=5,
        se_channels=2,
        act="silu",
        skip="none",
        norm_layer=partial(nn.BatchNorm2d, eps=1e-3),
    )
    expected = [
        (48, 8, 1, 1),
        *[shape for _, shape in bn("", 48)],
        (48, 1, 5, 5),
        *[shape for _, shape in bn("", 48)],
        (2, 48, 1, 1),
        (2,),
        (48, 2, 1, 1),
        (48,),
        (12, 48, 1, 1),
        *[shape for _, shape in bn("", 12)],
    ]
    assert [shape for _, shape in layout(block)] == expected
    se_keys = [key for key, _ in layout(block) if key.startswith("conv.2.")]
    assert se_keys == [
        "conv.2.fc1.weight",
        "conv.2.fc1.bias",
        "conv.2.fc2.weight",
        "conv.2.fc2.bias",
    ]
    assert block.conv[0][1].eps == 1e-3


def reference_block(model: str, prefix: str) -> list[tuple[str, tuple[int, ...]]]:
    """One block's state_dict keys and shapes in a torchvision model, without ``prefix``."""
    path = Path(__file__).resolve().parents[1] / "reference" / "data" / f"{model}.json"
    state = json.loads(path.read_text(encoding="utf-8"))["state_dict"]
    return [(k.removeprefix(prefix), tuple(s)) for k, s in state if k.startswith(prefix)]


def test_mbconv_layout_is_efficientnet_b0s():
    # features.1.0: expansion 1, so no expansion conv; the projection is block.2.
    plain = MBConv(32, 16, hidden_channels=32, se_channels=8, skip="none")
    assert layout(plain) == reference_block("efficientnet_b0", "features.1.0.")
    # features.2.0: expansion 6, stride 2.
    expanded = MBConv(16, 24, 2, hidden_channels=96, se_channels=4, skip="none")
    assert layout(expanded) == reference_block("efficientnet_b0", "features.2.0.")


@pytest.mark.parametrize(("in_channels", "hidden_channels"), [(8, 8), (8, 48)])
def test_mbconv_computes_what_the_mobilenet_v2_layout_computes(in_channels, hidden_channels):
    kwargs = {"hidden_channels": hidden_channels, "se_channels": 2, "act": "silu"}
    v2 = InvertedResidual(in_channels, 8, **kwargs).eval()
    mbconv = MBConv(in_channels, 8, **kwargs).eval()
    assert [s for _, s in layout(v2)] == [s for _, s in layout(mbconv)]
    for tensor in v2.state_dict().values():
        if tensor.is_floating_point():
            tensor.uniform_(0.5, 1.5)
    weights = zip(mbconv.state_dict(), v2.state_dict().values(), strict=True)
    mbconv.load_state_dict(dict(weights))
    x = torch.randn(2, in_channels, 8, 8)
    torch.testing.assert_close(mbconv(x), v2(x), rtol=0, atol=0)


def test_dense_block_layout():
    expected = []
    for i, in_channels in enumerate([8, 12], start=1):
        expected += [
            *bn(f"denselayer{i}.norm1", in_channels),
            (f"denselayer{i}.conv1.weight", (16, in_channels, 1, 1)),
            *bn(f"denselayer{i}.norm2", 16),
            (f"denselayer{i}.conv2.weight", (4, 16, 3, 3)),
        ]
    assert layout(DenseBlock(8, 2, 4)) == expected


def test_transition_layout():
    assert layout(Transition(16, 8)) == [*bn("norm", 16), ("conv.weight", (8, 16, 1, 1))]
    assert [name for name, _ in Transition(16, 8).named_children()] == [
        "norm",
        "relu",
        "conv",
        "pool",
    ]


def test_sequential_layouts():
    assert layout(ConvNormAct(3, 8, 7, 2)) == [("0.weight", (8, 3, 7, 7)), *bn("1", 8)]
    assert layout(NormAct(8)) == bn("0", 8)
    assert layout(UpConv(8, 4)) == [("0.weight", (8, 4, 2, 2)), ("0.bias", (4,))]
    assert layout(Classifier(16, 10)) == [("weight", (10, 16)), ("bias", (10,))]


# Whole torchvision models assembled from the blocks, checked against the parameter
# counts torchvision publishes for them.


def resnet(block: str, layers: list[int]) -> nn.Sequential:
    expansion = 4 if block == "bottleneck" else 1
    model = nn.Sequential()
    model.add_module("conv1", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))
    model.add_module("bn1", nn.BatchNorm2d(64))
    in_channels = 64
    for stage, (planes, blocks) in enumerate(zip([64, 128, 256, 512], layers, strict=True)):
        stage_layers = []
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            out_channels = planes * expansion
            downsample = stride != 1 or in_channels != out_channels
            if block == "bottleneck":
                layer = Bottleneck(
                    in_channels, out_channels, stride, width=planes, downsample=downsample
                )
            else:
                layer = BasicBlock(in_channels, out_channels, stride, downsample=downsample)
            stage_layers.append(layer)
            in_channels = out_channels
        model.add_module(f"layer{stage + 1}", nn.Sequential(*stage_layers))
    model.add_module("fc", Classifier(in_channels, 1000))
    return model


def mobilenet_v2() -> nn.Sequential:
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2)]
    settings += [(6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    features: list[nn.Module] = [ConvNormAct(3, 32, 3, 2, act="relu6")]
    in_channels = 32
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            residual = stride == 1 and in_channels == c
            block = InvertedResidual(
                in_channels,
                c,
                stride,
                hidden_channels=in_channels * t,
                skip="add" if residual else "none",
            )
            features.append(block)
            in_channels = c
    features.append(ConvNormAct(in_channels, 1280, 1, act="relu6"))
    return nn.Sequential(nn.Sequential(*features), Classifier(1280, 1000, dropout=0.2))


def efficientnet_b0() -> nn.Sequential:
    settings = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2)]
    settings += [(6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4)]
    settings += [(6, 3, 1, 192, 320, 1)]
    features: list[nn.Module] = [
        ConvNormAct(3, 32, 3, 2, act="silu", norm_layer=partial(nn.BatchNorm2d, eps=1e-3))
    ]
    for t, k, s, first_in, c, n in settings:
        stage = []
        for i in range(n):
            in_channels = first_in if i == 0 else c
            stride = s if i == 0 else 1
            residual = stride == 1 and in_channels == c
            block = InvertedResidual(
                in_channels,
                c,
                stride,
                hidden_channels=in_channels * t,
                kernel_size=k,
                se_channels=max(1, in_channels // 4),
                act="silu",
                skip="add" if residual else "none",
                norm_layer=partial(nn.BatchNorm2d, eps=1e-3),
            )
            stage.append(block)
        features.append(nn.Sequential(*stage))
    features.append(
        ConvNormAct(320, 1280, 1, act="silu", norm_layer=partial(nn.BatchNorm2d, eps=1e-3))
    )
    return nn.Sequential(nn.Sequential(*features), Classifier(1280, 1000, dropout=0.2))


def densenet121() -> nn.Sequential:
    features = nn.Sequential()
    features.add_module("conv0", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))
    features.add_module("norm0", nn.BatchNorm2d(64))
    channels = 64
    for i, num_layers in enumerate([6, 12, 24, 16]):
        features.add_module(f"denseblock{i + 1}", DenseBlock(channels, num_layers, 32))
        channels += num_layers * 32
        if i != 3:
            features.add_module(f"transition{i + 1}", Transition(channels, channels // 2))
            channels //= 2
    features.add_module("norm5", NormAct(channels))
    return nn.Sequential(features, Classifier(channels, 1000))


@pytest.mark.parametrize(
    ("build", "num_params"),
    [
        (lambda: resnet("basic", [2, 2, 2, 2]), 11_689_512),
        (lambda: resnet("bottleneck", [3, 4, 6, 3]), 25_557_032),
        (mobilenet_v2, 3_504_872),
        (efficientnet_b0, 5_288_548),
        (densenet121, 7_978_856),
    ],
    ids=["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121"],
)
def test_torchvision_parameter_counts(build, num_params):
    assert sum(p.numel() for p in build().parameters()) == num_params


def test_resnet50_keys():
    keys = list(resnet("bottleneck", [3, 4, 6, 3]).state_dict())
    assert keys[:6] == ["conv1.weight", *[key for key, _ in bn("bn1", 64)]]
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    block = [key.removeprefix("layer2.0.") for key in keys if key.startswith("layer2.0.")]
    assert block == [
        "conv1.weight",
        *[key for key, _ in bn("bn1", 1)],
        "conv2.weight",
        *[key for key, _ in bn("bn2", 1)],
        "conv3.weight",
        *[key for key, _ in bn("bn3", 1)],
        "downsample.0.weight",
        *[key for key, _ in bn("downsample.1", 1)],
    ]
    # stem 6 + 16 blocks * 18 + 4 projections * 6 + fc 2
    assert len(keys) == 320
