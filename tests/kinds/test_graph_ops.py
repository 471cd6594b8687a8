"""The small kinds that ShuffleNetV2, SqueezeNet and sub-pixel networks need: `flatten`,
`pixel_shuffle`, `pixel_unshuffle`, `shuffle`, `chunk` and `slice`.

Each states its channels and sizes as torch computes them, refuses at its line what torch
would refuse when run, and builds and computes the same in both backends; the emitted file
is clean under ruff, mypy and pyright, and TorchScript, torch.export and ONNX take it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.errors import SpecError
from skipgen.ir.state import state_shapes
from skipgen.nn import ChannelShuffle, ChannelSlice
from tests.backends.helpers import PROJECT_RULES, assert_equivalent, load_module, ruff
from tests.kinds.test_pool_options import EVERY_OPTION
from tests.test_cli_summary import assert_matches_torchinfo, run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TorchScript's


def net(channels: int, *layers: dict[str, Any], size: int | None = None, dims: int = 2) -> dict:
    spec: dict[str, Any] = {
        "name": "Net",
        "input": {"channels": channels, "dims": dims},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": list(layers),
    }
    if size is not None:
        spec["input"]["size"] = size
    return spec


def errors(spec: dict[str, Any] | str) -> list[tuple[int, int, str, str | None]]:
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(spec)
    return [(d.line, d.col, d.message, d.hint) for d in info.value.diagnostics]


# -- channels and sizes -----------------------------------------------------------------------


def test_channels_and_sizes_are_stated_for_every_kind() -> None:
    graph = skipgen.lower_spec(
        net(
            16,
            {"type": "pixel_unshuffle", "factor": 2},  # 16 x 8 x 8 -> 64 x 4 x 4
            {"type": "shuffle", "groups": 4},
            {"type": "chunk", "chunks": 4, "index": 3},  # 16, channels 48 to 64
            {"type": "slice", "start": 4, "stop": 13},  # 9
            {"type": "conv", "channels": 36, "kernel": 1},
            {"type": "pixel_shuffle", "factor": 3},  # 4 x 12 x 12
            {"type": "global_pool"},
            {"type": "flatten"},
            size=8,
        )
    )
    rows = [(n.kind, n.in_channels, n.out_channels, n.out_size) for n in graph.nodes()]
    assert rows == [
        ("pixel_unshuffle", 16, 64, (4, 4)),
        ("shuffle", 64, 64, (4, 4)),
        ("chunk", 64, 16, (4, 4)),
        ("slice", 16, 9, (4, 4)),
        ("conv", 9, 36, (4, 4)),
        ("pixel_shuffle", 36, 4, (12, 12)),
        ("global_pool", 4, 4, (1, 1)),
        ("flatten", 4, 4, None),
    ]
    assert graph.output_shape() == ("N", 4)
    slices = [n.call.args for n in graph.nodes() if n.call.target == "ChannelSlice"]
    assert slices == [(48, 64), (4, 13)]
    model = skipgen.build_model(graph).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 16, 8, 8)).shape == (2, 4)


def test_explain_and_summary_show_them(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "name: Net\n"
        "input: {channels: 8, size: 12}\n"
        "layers:\n"
        "  - {type: pixel_unshuffle}\n"
        "  - {type: shuffle, groups: 2}\n"
        "  - {type: chunk, index: 1}\n"
        "  - {type: slice, stop: 4}\n"
        "  - {type: pixel_shuffle}\n"
        "  - {type: global_pool}\n"
        "  - {type: flatten}\n"
    )
    explained = CliRunner().invoke(app, ["validate", "--explain", str(spec)]).stdout
    assert explained.splitlines()[0].endswith("Net (N, 8, 12, 12) -> (N, 1), 0 parameters (0 B)")
    rows = [line.split()[1:4] for line in explained.splitlines()[2:]]
    assert rows == [
        ["pixel_unshuffle", "8->32", "6x6"],
        ["shuffle", "32->32", "6x6"],
        ["chunk", "32->16", "6x6"],
        ["slice", "16->4", "6x6"],
        ["pixel_shuffle", "4->1", "12x12"],
        ["global_pool", "1->1", "1x1"],
        ["flatten", "1->1", "-"],
    ]
    summary = run(spec).stdout
    for row in ("(32, 6, 6)", "(16, 6, 6)", "(4, 6, 6)", "(1, 12, 12)", "(1)"):
        assert row in summary, summary
    result = run(spec, "--json")
    (data,) = json.loads(result.stdout)
    assert_matches_torchinfo(data, spec, None)


@pytest.mark.parametrize("factor", [2, 3])
def test_a_pixel_unshuffle_takes_the_sizes_torch_takes(factor: int) -> None:
    spec = net(
        2,
        {"type": "conv", "channels": 2, "stride": 2},
        {"type": "pixel_unshuffle", "factor": factor},
    )
    rule = skipgen.lower_spec(spec).sizes
    assert rule is not None
    layer = nn.PixelUnshuffle(factor)
    for n in range(1, 81):
        down = (n - 1) // 2 + 1  # the conv's
        try:
            expected = layer(torch.zeros(1, 2, down, down)).shape[2:]
        except RuntimeError:
            expected = None
        assert (n in rule) == (expected is not None), n
        if expected is not None:
            spec["input"]["size"] = n
            assert skipgen.lower_spec(spec).out_size == tuple(expected)
            del spec["input"]["size"]


def test_a_flatten_takes_the_sizes_its_network_brings_to_1() -> None:
    """Two 2x2 pools take sizes 4 to 7 to 1: the flatten of such an input is (N, C)."""
    pools = [{"type": "maxpool", "kernel": 2}, {"type": "maxpool", "kernel": 2}]
    spec = net(3, *pools, {"type": "flatten"})
    graph = skipgen.lower_spec(spec)
    assert graph.size_rule == "height and width: one of 4, 5, 6, 7"
    model = nn.Sequential(nn.MaxPool2d(2), nn.MaxPool2d(2), nn.Flatten())
    for n in range(1, 40):
        try:
            works = model(torch.zeros(1, 3, n, n)).shape == (1, 3)
        except RuntimeError:
            works = False
        assert (n in graph.sizes) == works, n  # type: ignore[operator]


def test_a_flatten_of_a_larger_map_is_an_error_at_its_line() -> None:
    text = (
        "name: Net\n"
        "input: {channels: 3, size: 8}\n"
        "layers:\n"
        "  - {type: conv, channels: 4, stride: 2}\n"
        "  - {type: flatten}\n"
    )
    [(line, col, message, hint)] = errors(text)
    assert (line, col) == (5, 5)
    assert message == (
        "layers[1]: flatten needs a spatial size of 1, got 4 along dimension 1 (input size 8)"
    )
    assert hint == "input height and width must be one of 1, 2"


def test_a_pixel_unshuffle_of_a_size_its_factor_leaves_a_remainder_is_an_error() -> None:
    text = "name: Net\ninput: {channels: 3, size: 10}\nlayers:\n"
    text += "  - {type: pixel_unshuffle, factor: 4}\n"
    [(line, col, message, hint)] = errors(text)
    assert (line, col) == (4, 5)
    assert message == (
        "layers[0]: pixel_unshuffle needs a spatial size that 4 divides, got 10 along "
        "dimension 1 (input size 10)"
    )
    assert hint == "input height and width must be a multiple of 4"


BAD_CHANNELS = """\
name: Net
input: {channels: 6, size: 8}
layers:
  - {type: shuffle, groups: 4}
  - {type: chunk, chunks: 4, index: 0}
  - {type: slice, start: 3, stop: 9}
  - {type: pixel_shuffle}
  - {type: pixel_shuffle, factor: 3}
"""


def test_channels_that_do_not_divide_are_errors_at_the_key() -> None:
    assert errors(BAD_CHANNELS) == [
        (
            4,
            29,
            "layers[0].groups: the input has 6 channels, which 4 groups do not divide",
            "choose groups that divide the channels of the layer before it",
        ),
        (
            5,
            27,
            "layers[1].chunks: the input has 6 channels, which 4 equal parts do not divide",
            "choose chunks that divide the channels of the layer before it",
        ),
        (
            6,
            35,
            "layers[2].stop: stop 9 is past the input's 6 channels",
            "give a stop of at most 6",
        ),
        (  # no factor written: at the layer
            7,
            5,
            "layers[3].factor: 6 input channels are not a multiple of factor**2 = 4",
            "give the layer before it a multiple of 4 channels, or another factor",
        ),
        (
            8,
            35,
            "layers[4].factor: 6 input channels are not a multiple of factor**2 = 9",
            "give the layer before it a multiple of 9 channels, or another factor",
        ),
    ]


@pytest.mark.parametrize(
    ("layer", "where", "message", "hint"),
    [
        (
            "{type: chunk, chunks: 2, index: 2}",
            (4, 37),
            "layers[0].index: index 2 is past the last of 2 parts",
            "the parts are numbered from 0 to 1",
        ),
        (
            "{type: chunk, chunks: 2}",
            (4, 5),
            "layers[0].index: missing required key 'index'",
            None,
        ),
        (
            "{type: slice, start: 3, stop: 3}",
            (4, 35),
            "layers[0].stop: stop 3 is not after start 3: the slice would be empty",
            "give a stop greater than start",
        ),
        (
            "{type: pixel_shuffle, dims: 2}",
            (4, 27),
            "layers[0].dims: unknown key 'dims'",
            None,
        ),
    ],
)
def test_keys_that_cannot_work_are_errors_at_the_key(
    layer: str, where: tuple[int, int], message: str, hint: str | None
) -> None:
    text = f"name: Net\ninput: {{channels: 4}}\nlayers:\n  - {layer}\n"
    [(line, col, found, found_hint)] = errors(text)
    assert ((line, col), found) == (where, message)
    if hint is not None:
        assert found_hint == hint


@pytest.mark.parametrize("kind", ["pixel_shuffle", "pixel_unshuffle"])
@pytest.mark.parametrize("dims", [1, 3])
def test_a_pixel_shuffle_is_for_images(kind: str, dims: int) -> None:
    text = f"name: Net\ninput: {{channels: 4, dims: {dims}}}\nlayers:\n  - {{type: {kind}}}\n"
    [(line, col, message, hint)] = errors(text)
    assert (line, col) == (4, 12)
    assert message == (
        f"layers[0].type: a {kind} rearranges images (input.dims 2), and this network has "
        f"dims {dims}"
    )
    assert hint == "use upsample or a strided conv for signals and volumes"


def test_after_a_flatten_only_layers_of_features_run() -> None:
    spec = net(4, {"type": "global_pool"}, {"type": "flatten"}, {"type": "conv", "channels": 4})
    [(_, _, message, _)] = errors(spec)
    assert message == (
        "layers[2]: nothing but linear, act, dropout and drop_path can follow a flatten, "
        "whose output is flat"
    )
    spec = net(
        4,
        {"type": "global_pool"},
        {"type": "flatten"},
        {"type": "linear", "features": 6},
        {"type": "act", "act": "relu"},
        {"type": "dropout"},
        {"type": "linear", "features": 3},
    )
    graph = skipgen.lower_spec(spec)
    assert graph.flat and graph.output_shape(2) == (2, 3)
    model = skipgen.build_model(graph).eval()
    assert model(torch.randn(2, 4, 8, 8)).shape == (2, 3)
    spec = net(4, {"type": "flatten", "skip": "add"})
    [(_, _, message, _)] = errors(spec)
    assert message == "layers[0].skip: a flatten cannot have a skip"


# -- the modules ------------------------------------------------------------------------------


def torchvision_channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """torchvision.models.shufflenetv2.channel_shuffle, as written there."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


@pytest.mark.parametrize("groups", [1, 2, 3, 4, 12])
def test_channel_shuffle_is_torchvisions(groups: int) -> None:
    x = torch.randn(2, 12, 5, 3)
    expected = torchvision_channel_shuffle(x, groups)
    assert torch.equal(ChannelShuffle(groups)(x), expected)
    assert torch.equal(nn.ChannelShuffle(groups)(x), expected)
    sliced = x[:, 3:9]  # not contiguous, as after a chunk or slice
    if 6 % groups == 0:
        expected = torchvision_channel_shuffle(sliced.contiguous(), groups)
        assert torch.equal(ChannelShuffle(groups)(sliced), expected)
    for dims in (1, 3):
        y = torch.randn(2, 12, *[4] * dims)
        assert torch.equal(ChannelShuffle(groups)(y), nn.ChannelShuffle(groups)(y))


def test_a_chunk_is_tensor_chunk() -> None:
    x = torch.randn(2, 12, 3, 3)
    for chunks in (1, 2, 3, 4):
        for index in range(chunks):
            graph = skipgen.lower_spec(net(12, {"type": "chunk", "chunks": chunks, "index": index}))
            model = skipgen.build_model(graph)
            assert torch.equal(model(x), x.chunk(chunks, dim=1)[index])
    assert torch.equal(ChannelSlice(2, 7)(x), x[:, 2:7])


# -- both backends ----------------------------------------------------------------------------


EVERY_OP = net(
    8,
    {"type": "conv", "channels": 16, "stride": 2},
    {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 0, "ceil_mode": True},
    {"type": "pixel_unshuffle"},  # 64
    {"type": "shuffle", "groups": 4},
    {"type": "chunk", "chunks": 2, "index": 1},  # 32
    {"type": "conv", "channels": 32, "kernel": 1},
    {"type": "slice", "start": 4, "stop": 20},  # 16
    {"type": "pixel_shuffle"},  # 4
    {"type": "conv", "channels": 8, "skip": "add", "on_mismatch": "project"},
    {"type": "shuffle", "groups": 2, "skip": "add"},
    {"type": "adaptive_pool", "size": 1},
    {"type": "flatten"},
)


def test_both_backends_build_and_compute_the_same(tmp_path: Path) -> None:
    graph = skipgen.lower_spec(EVERY_OP)
    assert graph.size_rule.startswith("height and width: ")
    module = load_module(skipgen.generate_source(EVERY_OP), tmp_path)
    for n in (7, 9, 16, 17):
        assert n in graph.sizes  # type: ignore[operator]
        assert_equivalent(graph, module.Net, (2, 8, n, n))
    found = state_shapes(graph)
    model = skipgen.build_model(graph)
    assert list(found.entries) == [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_the_emitted_network_scripts_and_exports(tmp_path: Path) -> None:
    model = load_module(skipgen.generate_source(EVERY_OP), tmp_path).Net().eval()
    x = torch.randn(2, 8, 17, 9)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.jit.script(model)(x), expected)
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), expected)


def test_the_emitted_network_exports_to_onnx_at_any_size(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    model = load_module(skipgen.generate_source(EVERY_OP), tmp_path).Net().eval()
    path = tmp_path / "net.onnx"
    axes = {"x": {0: "n", 2: "h", 3: "w"}}
    x = torch.randn(1, 8, 16, 16)
    torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes=axes)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 8, 17, 9)
    (actual,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        expected = model(x)
    assert torch.allclose(torch.from_numpy(actual), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spec", [EVERY_OP, EVERY_OPTION], ids=["every_op", "every_option"])
def test_the_emitted_file_is_clean(spec: dict[str, Any], tmp_path: Path) -> None:
    """ruff (the project's rules, and its formatter), mypy --strict and pyright, as
    test_source_clean holds the configs' files."""
    path = tmp_path / "net.py"
    path.write_text(skipgen.generate_source(spec), encoding="utf-8")
    checked = ruff("check", "--select", PROJECT_RULES, path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", "--diff", path)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    pytest.importorskip("mypy")
    command = [sys.executable, "-m", "mypy", "--config-file=", "--strict"]
    command += ["--cache-dir", str(tmp_path / "cache"), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    pytest.importorskip("pyright")
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
    result = subprocess.run([*command, str(path)], capture_output=True, text=True, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert not [d for d in report["generalDiagnostics"] if d["severity"] == "error"]


def test_the_new_classes_are_copied_whole() -> None:
    text = skipgen.generate_source(EVERY_OP)
    assert "class ChannelShuffle(nn.Module):" in text and "class ChannelSlice(nn.Module):" in text
