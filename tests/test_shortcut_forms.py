"""The forms of a residual block's projection shortcut, against blocks written by hand.

ResNet-D's average pool then 1x1 conv (timm's ``avg_down``: keys ``downsample.1`` conv and
``.2`` norm), a strided conv of any odd kernel with or without norm and bias, and the
projection registered before or after the branch, so that ``state_dict`` order can
follow a reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module


def net(layer: dict[str, Any], channels: int = 8, size: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Net",
        "input": {"channels": channels, "dims": 2},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": [{**layer, "name": "block"}],
    }
    if size is not None:
        data["input"]["size"] = size
    return data


class HandBasicBlock(nn.Module):
    """torchvision's BasicBlock with the shortcut given, as timm's ResNet builds it."""

    def __init__(self, cin: int, cout: int, stride: int, downsample: nn.Module) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + self.downsample(x))


def avg_down(cin: int, cout: int, stride: int) -> nn.Sequential:
    """timm's ``downsample_avg`` (its pool's kernel is the stride, as ResNet-D's 2x2 at 2)."""
    pool: nn.Module = nn.Identity()
    if stride > 1:
        pool = nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
    return nn.Sequential(pool, nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


def randomized(model: nn.Module) -> nn.Module:
    """Random weights and norm statistics, so that every layer shows in the output."""
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator, dtype=tensor.dtype)
                tensor.copy_(values + 0.5 if "var" in name else values - 0.5)
    return model.double().eval()


def assert_same_block(data: dict[str, Any], hand: nn.Module, size: int) -> None:
    """The built block loads into the hand-written one strictly, keys in the same order,
    and both compute the same."""
    model = randomized(skipgen.build_model(data))
    state = {k.removeprefix("block."): v for k, v in model.state_dict().items()}
    assert list(state) == list(hand.state_dict())
    hand.load_state_dict(state, strict=True)
    hand = hand.double().eval()
    x = torch.randn(2, data["input"]["channels"], size, size, dtype=torch.double)
    with torch.no_grad():
        assert torch.allclose(model(x), hand(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size", [8, 9, 11])  # odd sizes: the pool's ceil mode counts
def test_resnet_d_averages_then_projects(size: int) -> None:
    data = net({"type": "basic", "channels": 16, "stride": 2, "shortcut": "avgpool"})
    assert_same_block(data, HandBasicBlock(8, 16, 2, avg_down(8, 16, 2)), size)
    assert skipgen.lower_spec(data).size_rule == "height and width: any size"


def test_resnet_d_at_stride_1_keeps_the_conv_at_key_1() -> None:
    data = net({"type": "basic", "channels": 16, "shortcut": "avgpool"})
    hand = HandBasicBlock(8, 16, 1, avg_down(8, 16, 1))
    assert_same_block(data, hand, 7)
    assert "downsample.1.weight" in hand.state_dict()


def test_resnet_d_at_stride_3() -> None:
    data = net({"type": "basic", "channels": 16, "stride": 3, "shortcut": "avgpool"})
    assert_same_block(data, HandBasicBlock(8, 16, 3, avg_down(8, 16, 3)), 10)


def test_a_strided_3x3_shortcut_with_bias_and_no_norm() -> None:
    shortcut = {"kernel": 3, "norm": "none", "bias": True}
    data = net({"type": "basic", "channels": 16, "stride": 2, "shortcut": shortcut})
    hand_shortcut = nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1, bias=True))
    assert_same_block(data, HandBasicBlock(8, 16, 2, hand_shortcut), 9)
    params = sum(p.numel() for p in hand_shortcut.parameters())
    plain = skipgen.lower_spec(net({"type": "basic", "channels": 16, "stride": 2}))
    assert skipgen.lower_spec(data).params == plain.params - (8 * 16 + 2 * 16) + params


def test_a_shortcut_with_a_norm_of_its_own() -> None:
    shortcut = {"norm": {"type": "group", "groups": 4}}
    data = net({"type": "basic", "channels": 16, "stride": 2, "shortcut": shortcut})
    hand_shortcut = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.GroupNorm(4, 16))
    assert_same_block(data, HandBasicBlock(8, 16, 2, hand_shortcut), 9)


def keys(data: dict[str, Any]) -> list[str]:
    return list(skipgen.build_model(data).state_dict())


def test_the_projection_is_registered_where_the_spec_says() -> None:
    bottleneck = {"type": "bottleneck", "channels": 32, "stride": 2}
    last = keys(net(bottleneck))
    first = keys(net({**bottleneck, "shortcut": {"registered": "first"}}))
    assert last[-1].startswith("block.downsample.1.")
    assert first[0] == "block.downsample.0.weight"
    assert sorted(first) == sorted(last)
    regnet = {**bottleneck, "layout": "regnet", "inner_channels": 8, "group_width": 8}
    assert keys(net(regnet))[0] == "block.proj.0.weight"  # RegNet's, as torchvision
    moved = keys(net({**regnet, "shortcut": {"registered": "last"}}))
    assert moved[-1].startswith("block.proj.1.")


def test_an_inverted_residual_that_projects_takes_the_forms_too() -> None:
    layer = {
        "type": "inverted_residual",
        "channels": 16,
        "stride": 2,
        "on_mismatch": "project",
        "shortcut": {"type": "avgpool", "registered": "first"},
    }
    found = keys(net(layer))
    assert found[:2] == ["block.downsample.1.weight", "block.downsample.2.weight"]


EVERY_FORM = [
    {"type": "basic", "channels": 16, "stride": 2, "shortcut": "avgpool"},
    {"type": "basic", "channels": 24, "preact": True, "stride": 2, "shortcut": {"kernel": 3}},
    {"type": "bottleneck", "channels": 32, "stride": 2, "shortcut": {"registered": "first"}},
    {
        "type": "bottleneck",
        "channels": 48,
        "layout": "regnet",
        "inner_channels": 16,
        "group_width": 8,
        "stride": 2,
        "shortcut": {"type": "avgpool", "kernel": 3, "registered": "last", "norm": "none"},
    },
    {
        "type": "inverted_residual",
        "channels": 24,
        "on_mismatch": "project",
        "layout": "efficientnet",
        "shortcut": {"bias": True},
    },
    {
        "type": "inverted_residual",
        "channels": 32,
        "stride": 2,
        "skip": "concat",
        "on_mismatch": "project",
        "shortcut": "avgpool",
    },
    # the kinds whose skip the Shortcut block adds around them
    {
        "type": "maxpool",
        "kernel": 3,
        "stride": 2,
        "skip": "add",
        "on_mismatch": "project",
        "shortcut": {"type": "avgpool", "kernel": 3},
    },
    {
        "type": "dense",
        "layers": 2,
        "growth": 4,
        "skip": "add",
        "on_mismatch": "project",
        "shortcut": {"norm": "none", "registered": "first"},
    },
    {
        "type": "transition",
        "channels": 16,
        "skip": "add",
        "on_mismatch": "project",
        "shortcut": "avgpool",
    },
    {
        "type": "avgpool",
        "kernel": 2,
        "skip": "concat",
        "on_mismatch": "project",
        "shortcut": {"kernel": 3, "bias": True},
    },
]


def test_the_emitted_file_builds_every_form_as_the_runtime_does(tmp_path: Path) -> None:
    data = net(EVERY_FORM[0], channels=3, size=256)  # eight halvings: 256 -> 1
    data["layers"] = EVERY_FORM
    graph = skipgen.lower_spec(data)
    assert [n.skip_note for n in graph.nodes()] == ["projected"] * len(EVERY_FORM)
    module = load_module(skipgen.generate_source(data), tmp_path)
    assert_equivalent(graph, module.Net, (2, 3, 256, 256))


@pytest.mark.parametrize(
    ("shortcut", "message"),
    [
        (
            {"kernel": 2},
            "layers[0].shortcut.kernel: a shortcut's conv needs an odd kernel, not 2",
        ),
        (
            {"norm": {"type": "group", "groups": 5}},
            "layers[0].shortcut.norm: group norm with 5 groups cannot split 16 channels in the "
            "projected shortcut",
        ),
        ("maxpool", "layers[0].shortcut: input should be 'conv' or 'avgpool'"),
    ],
)
def test_a_bad_shortcut_is_located_at_its_key(shortcut: Any, message: str) -> None:
    yaml = (
        "name: Net\n"
        "input: {channels: 8}\n"
        "layers:\n"
        f"  - {{type: basic, channels: 16, stride: 2, shortcut: {shortcut}}}\n"
    ).replace("'", "")
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(yaml)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.line == 4
    assert diagnostic.message.startswith(message)


class HandLongSkip(nn.Module):
    """A stem, a strided conv block, and a conv block that adds the stem's output through
    ``shortcut``: a long skip projected across the stride, written by hand."""

    def __init__(self, shortcut: nn.Module) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8))
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16))
        self.block_skip = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enc = torch.relu(self.stem(x))
        out = torch.relu(self.block(torch.relu(self.down(enc))))
        return out + self.block_skip(enc)


def long_skip_net(shortcut: Any) -> dict[str, Any]:
    data = net({"type": "conv", "channels": 16}, channels=3)
    data["layers"] = [
        {"type": "conv", "channels": 8, "name": "stem", "id": "enc"},
        {"type": "conv", "channels": 16, "stride": 2, "name": "down"},
        {
            "type": "conv",
            "channels": 16,
            "name": "block",
            "skip": {"mode": "add", "from": "enc"},
            "on_mismatch": "project",
            "shortcut": shortcut,
        },
    ]
    return data


@pytest.mark.parametrize(
    ("shortcut", "hand"),
    [
        ("avgpool", avg_down(8, 16, 2)),
        ({"kernel": 3, "norm": "none", "bias": True}, nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1))),
        (
            {"type": "avgpool", "norm": {"type": "group", "groups": 4}},
            nn.Sequential(
                nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False),
                nn.Conv2d(8, 16, 1, bias=False),
                nn.GroupNorm(4, 16),
            ),
        ),
    ],
    ids=["avgpool", "3x3 with bias", "avgpool and group norm"],
)
def test_a_long_skip_takes_the_forms_too(shortcut: Any, hand: nn.Module, tmp_path: Path) -> None:
    data = long_skip_net(shortcut)
    graph = skipgen.lower_spec(data)
    model = randomized(skipgen.build_model(graph))
    reference = HandLongSkip(hand)
    state = model.state_dict()
    assert list(state) == list(reference.state_dict())
    reference.load_state_dict(state, strict=True)
    reference = reference.double().eval()
    x = torch.randn(2, 3, 9, 9, dtype=torch.double)  # odd: the pool's ceil mode counts
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), rtol=1e-10, atol=1e-12)
    assert graph.params == sum(p.numel() for p in reference.parameters())
    module = load_module(skipgen.generate_source(data), tmp_path)
    assert_equivalent(graph, module.Net, (2, 3, 9, 9))


@pytest.mark.parametrize(
    ("skip", "shortcut", "message"),
    [
        (
            {"mode": "add", "from": "enc"},
            {"registered": "first"},
            "layers[2].shortcut.registered: a skip from an earlier layer registers its "
            "projection after the layer, as block_skip",
        ),
        (
            {"mode": "concat", "from": "down_out"},
            "avgpool",
            "layers[2].shortcut: the skip from 'down_out' is not projected (identity), so a "
            "shortcut form has nothing to shape",
        ),
    ],
)
def test_a_long_skip_refuses_what_it_cannot_shape(
    skip: dict[str, str], shortcut: Any, message: str
) -> None:
    data = long_skip_net(shortcut)
    data["layers"][1]["id"] = "down_out"
    data["layers"][2]["skip"] = skip
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(data)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.message.startswith(message), diagnostic.message


RESNET_D_BLOCK = """\
name: Net
input: {channels: 8, size: 16}
defaults: {norm: batch, act: relu}
blocks:
  resd:
    params: {channels: int, stride: {type: int, default: 1}}
    skip: add
    shortcut: avgpool
    layers:
      - {type: conv, channels: "${channels}", stride: "${stride}", name: conv1}
      - {type: conv, channels: "${channels}", act: none, name: conv2}
layers:
  - {type: resd, channels: 16, stride: 2, name: block}
"""


class HandCompositeBlock(nn.Module):
    """The composite block above written by hand: two conv-norm(-act)s, the shortcut
    added."""

    def __init__(self, cin: int, cout: int, stride: int, shortcut: nn.Module) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
        )
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x)) + self.shortcut(x)


@pytest.mark.parametrize(
    ("use", "hand"),
    [
        ("", avg_down(8, 16, 2)),  # the block's own form
        (", shortcut: {kernel: 3, norm: none}", nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1))),
    ],
    ids=["the block's", "the use's"],
)
def test_a_composite_block_projects_as_its_shortcut_says(
    use: str, hand: nn.Module, tmp_path: Path
) -> None:
    spec = RESNET_D_BLOCK.replace("name: block}", f"name: block{use}}}")
    graph = skipgen.lower_spec(spec)
    assert_same_block(yaml.safe_load(spec), HandCompositeBlock(8, 16, 2, hand), 9)
    module = load_module(skipgen.generate_source(spec), tmp_path)
    assert_equivalent(graph, module.Net, (2, 8, 9, 9))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("name: block}", "name: block, shortcut: {registered: first}}"),
            "layers[0].shortcut: a composite block registers its projection after its body",
        ),
        (
            ("shortcut: avgpool", "shortcut: {type: avgpool, registered: last}"),
            "blocks.resd.shortcut: a composite block registers its projection",
        ),
        (
            (
                "channels: 16, stride: 2, name: block}",
                "channels: 8, name: block, shortcut: avgpool}",
            ),
            "layers[0].shortcut: this resd block does not project its shortcut (identity)",
        ),
    ],
)
def test_a_composite_shortcut_refuses_what_it_cannot_shape(
    change: tuple[str, str], message: str
) -> None:
    assert change[0] in RESNET_D_BLOCK
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(RESNET_D_BLOCK.replace(*change))
    [diagnostic] = info.value.diagnostics
    assert diagnostic.message.startswith(message), diagnostic.message


def test_a_composite_block_whose_use_does_not_project_ignores_its_own_form() -> None:
    spec = RESNET_D_BLOCK.replace("channels: 16, stride: 2, name: block}", "channels: 8}")
    graph = skipgen.lower_spec(spec)
    assert [b.note for b in graph.blocks()] == ["identity"]
