"""Pooling and upsampling as torchvision's GoogLeNet, SqueezeNet and DeepLabV3 write them:
`ceil_mode` on `maxpool` and `avgpool`, `adaptive_pool` to any fixed size, and
`align_corners` on a bilinear `upsample`.

The size program must say what torch does at every size: the output size where torch
computes one, and an error where torch refuses the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module

# (kernel, stride, padding): GoogLeNet's and SqueezeNet 1.1's (3, 2, 0), and windows that
# overhang the input by every amount a ceil mode can.
WINDOWS = [(3, 2, 0), (2, 2, 0), (3, 2, 1), (3, 3, 1), (4, 3, 1), (5, 3, 2), (1, 2, 0), (3, 1, 1)]
LARGEST = {1: 80, 2: 80, 3: 24}  # input sizes tried, from 1


def pool_spec(kind: str, dims: int, window: tuple[int, int, int], **more: Any) -> dict[str, Any]:
    kernel, stride, padding = window
    layer = {"type": kind, "kernel": kernel, "stride": stride, "padding": padding}
    return {
        "name": "Net",
        "input": {"channels": 1, "dims": dims},
        "layers": [{**layer, "ceil_mode": True, **more}],
    }


def torch_size(kind: str, dims: int, window: tuple[int, int, int], n: int) -> int | None:
    """The output size torch gives for input size ``n``, or None where it refuses it."""
    layers = {"maxpool": (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)}
    layers["avgpool"] = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
    kernel, stride, padding = window
    layer = layers[kind][dims - 1](kernel, stride, padding, ceil_mode=True)
    try:
        return int(layer(torch.zeros(1, 1, *[n] * dims)).shape[-1])
    except RuntimeError:
        return None


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("kind", ["maxpool", "avgpool"])
@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_ceil_mode_sizes_are_torchs_at_every_size(
    kind: str, dims: int, window: tuple[int, int, int]
) -> None:
    spec = pool_spec(kind, dims, window)
    rule = skipgen.lower_spec(spec).sizes
    assert rule is not None
    for n in range(1, LARGEST[dims] + 1):
        expected = torch_size(kind, dims, window, n)
        assert (n in rule) == (expected is not None), n
        spec["input"]["size"] = n
        try:
            graph = skipgen.lower_spec(spec)
        except SpecError as error:
            assert expected is None, (n, str(error))
            continue
        assert graph.out_size == (expected,) * dims, n


def test_ceil_mode_is_torchs_in_a_googlenet_stem_at_every_size() -> None:
    """conv 7x7/2, max pool 3/2 ceil, conv 1x1, conv 3x3, max pool 3/2 ceil: the size rule
    (no size given) and the sizes (each size given) against the network torch builds."""
    spec: dict[str, Any] = {
        "name": "Stem",
        "input": {"channels": 3},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": [
            {"type": "conv", "channels": 4, "kernel": 7, "stride": 2, "padding": 3},
            {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 0, "ceil_mode": True},
            {"type": "conv", "channels": 4, "kernel": 1},
            {"type": "conv", "channels": 8},
            {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 0, "ceil_mode": True},
        ],
    }
    graph = skipgen.lower_spec(spec)
    assert graph.sizes is not None
    model = skipgen.build_model(spec).eval()
    for n in range(1, 81):
        try:
            with torch.no_grad():
                expected = tuple(model(torch.zeros(1, 3, n, n)).shape[2:])
        except (RuntimeError, ValueError):  # a pool or a batch norm of one value
            expected = None
        # batch norm in eval mode takes one value: only the pools refuse a size
        assert (n in graph.sizes) == (expected is not None), n
        if expected is not None:
            spec["input"]["size"] = n
            assert skipgen.lower_spec(spec).out_size == expected


def test_ceil_mode_is_written_only_where_set(tmp_path: Path) -> None:
    spec = pool_spec("maxpool", 2, (3, 2, 0))
    source = skipgen.generate_source(spec)
    assert "nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)" in source
    spec["layers"][0]["ceil_mode"] = False
    assert "ceil_mode" not in skipgen.generate_source(spec)


# -- adaptive_pool ----------------------------------------------------------------------------


def adaptive(size: Any, mode: str = "avg", dims: int = 2) -> dict[str, Any]:
    return {
        "name": "Net",
        "input": {"channels": 2, "dims": dims},
        "layers": [
            {"type": "conv", "channels": 4, "stride": 2, "norm": "none"},
            {"type": "adaptive_pool", "size": size, "mode": mode},
        ],
    }


@pytest.mark.parametrize("size", [1, 7, [1, 1], [3, 3]])
@pytest.mark.parametrize("mode", ["avg", "max"])
def test_adaptive_pool_gives_its_size_for_every_input_size(size: Any, mode: str) -> None:
    each = size if isinstance(size, int) else size[0]
    graph = skipgen.lower_spec(adaptive(size, mode))
    assert graph.size_rule == "height and width: any size"
    model = skipgen.build_model(graph).eval()
    for n in (1, 2, 5, 13, 30):
        with torch.no_grad():
            assert model(torch.randn(1, 2, n, n)).shape == (1, 4, each, each)
        sized = adaptive(size, mode)
        sized["input"]["size"] = n
        assert skipgen.lower_spec(sized).output_shape() == ("N", 4, each, each)


def test_adaptive_pool_is_written_as_given() -> None:
    """GoogLeNet's ``AdaptiveAvgPool2d((1, 1))`` and VGG's ``AdaptiveAvgPool2d(7)``."""
    assert "nn.AdaptiveAvgPool2d((1, 1))" in skipgen.generate_source(adaptive([1, 1]))
    assert "nn.AdaptiveMaxPool3d(7)" in skipgen.generate_source(adaptive(7, "max", 3))


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ([2, 2, 2], "layers[1].size: 3 sizes given for 2 dimensions"),
        ([2, 3], "layers[1].size: sizes [2, 3] differ: skipgen sizes every dimension alike"),
        (0, "layers[1].size: must be at least 1"),
        ([], "layers[1].size: needs at least 1 item"),
    ],
)
def test_an_adaptive_size_it_cannot_give_is_an_error_at_size(size: Any, message: str) -> None:
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(adaptive(size))
    assert any(d.message.startswith(message) for d in info.value.diagnostics), info.value


def test_a_long_skip_meets_an_adaptive_pool_of_its_size_only() -> None:
    spec = adaptive(2)
    spec["layers"][0]["id"] = "enc"
    spec["layers"].append({"type": "adaptive_pool", "size": 2, "id": "other"})
    spec["layers"].append({"type": "identity", "skip": {"mode": "add", "from": "other"}})
    assert skipgen.lower_spec(spec).size_rule == "height and width: any size"
    spec["layers"][-1]["skip"]["from"] = "enc"
    with pytest.raises(SpecError):
        skipgen.lower_spec(spec)


# -- align_corners ----------------------------------------------------------------------------


def decoder(**up: Any) -> dict[str, Any]:
    """A DeepLabV3-like head: an encoder, a classifier conv, then bilinear upsampling."""
    return {
        "name": "Net",
        "input": {"channels": 3},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": [
            {"type": "conv", "channels": 8, "id": "enc"},
            {"type": "maxpool", "kernel": 2},
            {"type": "conv", "channels": 4, "kernel": 1, "norm": "none", "act": "none"},
            {"type": "upsample", "mode": "bilinear", **up},
        ],
    }


FORMS = {
    "alone": {},
    "conv": {"channels": 5},
    "to_skip": {"size": "skip", "skip": {"mode": "concat", "from": "enc"}, "scale": None},
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("align", [True, False])
def test_align_corners_interpolates_as_torch_in_every_form(form: str, align: bool) -> None:
    up = {k: v for k, v in {**FORMS[form], "align_corners": align}.items() if v is not None}
    spec = decoder(**up)
    model = skipgen.build_model(spec).double().eval()
    x = torch.randn(2, 3, 8, 6, dtype=torch.double)
    with torch.no_grad():
        y = model.conv2(model.pool1(model.conv1(x)))
        up_layer = model.up1
        if form == "to_skip":
            enc = model.conv1(x)
            expected = torch.cat(
                [
                    enc,
                    nn.functional.interpolate(y, size=(8, 6), mode="bilinear", align_corners=align),
                ],
                dim=1,
            )
        else:
            expected = nn.functional.interpolate(
                y, scale_factor=2.0, mode="bilinear", align_corners=align
            )
            if form == "conv":
                expected = up_layer[1](expected)  # the conv after the interpolation
        assert torch.allclose(model(x), expected)


def test_align_corners_is_written_where_the_file_interpolates() -> None:
    source = skipgen.generate_source(decoder(align_corners=True))
    assert 'nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=True)' in source
    source = skipgen.generate_source(decoder())  # torch's default, written out
    assert 'nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False)' in source


@pytest.mark.parametrize(
    ("up", "message"),
    [
        ({"mode": "nearest"}, "align_corners applies to bilinear interpolation, not to nearest"),
        (
            {"mode": "transposed", "channels": 4},
            "align_corners applies to bilinear interpolation, not to transposed",
        ),
    ],
)
def test_align_corners_without_bilinear_is_an_error_at_its_line(
    up: dict[str, Any], message: str
) -> None:
    text = (
        "name: Net\n"
        "input: {channels: 3}\n"
        "layers:\n"
        f"  - {{type: upsample, mode: {up['mode']}"
        + (f", channels: {up['channels']}" if "channels" in up else "")
        + ",\n"
        "     align_corners: true}\n"
    )
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(text)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.message == f"layers[0].align_corners: {message}"
    assert diagnostic.hint == "remove align_corners, or set mode: bilinear"
    assert (diagnostic.line, diagnostic.col) == (5, 21)


# -- the emitted file -------------------------------------------------------------------------


# Every option above in one network, each interpolating form with align_corners.
EVERY_OPTION: dict[str, Any] = {
    "name": "Net",
    "input": {"channels": 3},
    "defaults": {"norm": "batch", "act": "relu"},
    "layers": [
        {"type": "conv", "channels": 8, "stride": 2, "id": "enc"},
        {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 0, "ceil_mode": True},
        {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "conv", "channels": 8, "kernel": 1},
        {
            "type": "upsample",
            "mode": "bilinear",
            "align_corners": True,
            "size": "skip",
            "skip": {"mode": "add", "from": "enc"},
        },
        {"type": "upsample", "mode": "bilinear", "channels": 4, "align_corners": True},
        {"type": "adaptive_pool", "size": [3, 3], "mode": "max"},
        {"type": "upsample", "mode": "bilinear", "scale": 3, "align_corners": True},
        {"type": "adaptive_pool", "size": 1},
    ],
}


def test_the_emitted_file_pools_and_interpolates_as_build_model(tmp_path: Path) -> None:
    graph = skipgen.lower_spec(EVERY_OPTION)
    module = load_module(skipgen.generate_source(EVERY_OPTION), tmp_path)
    for n in (9, 15, 23):
        assert_equivalent(graph, module.Net, (2, 3, n, n + 2))
    model = module.Net().eval()
    x = torch.randn(1, 3, 23, 19)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.jit.script(model)(x), expected)
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), expected)
