"""``upsample`` with ``size: skip``: interpolation alone to the size of the skip it meets,
so that a U-Net takes input sizes that are not multiples of 2 to its depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module


def unet(**up: Any) -> dict[str, Any]:
    """Two levels down, two up, each upsample meeting its encoder's output."""
    upsample = {"type": "upsample", "mode": "bilinear", "size": "skip", **up}
    return {
        "name": "Net",
        "input": {"channels": 3, "dims": 2},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": [
            {"type": "conv", "channels": 8, "id": "enc1"},
            {"type": "maxpool", "kernel": 2},
            {"type": "conv", "channels": 16, "id": "enc2"},
            {"type": "maxpool", "kernel": 2},
            {"type": "conv", "channels": 16, "name": "bottom"},
            {**upsample, "skip": {"mode": "concat", "from": "enc2"}},
            {"type": "conv", "channels": 16, "name": "dec2"},
            {**upsample, "skip": {"mode": "add", "from": "enc1"}, "on_mismatch": "project"},
            {"type": "conv", "channels": 2, "kernel": 1, "norm": "none", "act": "none"},
        ],
    }


def test_the_output_has_the_input_size_at_every_size_that_pools() -> None:
    graph = skipgen.lower_spec(unet())
    assert graph.size_rule == "height and width: at least 4"  # two pools of 2 leave 1
    assert graph.output_shape() == ("N", 2, "H", "W")
    model = skipgen.build_model(unet()).eval()
    for n in range(1, 24):
        if n not in graph.sizes:  # type: ignore[operator]
            continue
        with torch.no_grad():
            assert model(torch.randn(2, 3, n, n + 3)).shape == (2, 2, n, n + 3)


def test_it_interpolates_to_the_skip_as_written_by_hand() -> None:
    model = skipgen.build_model(unet()).double().eval()
    x = torch.randn(2, 3, 13, 10, dtype=torch.double)

    def up(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(
            y, size=like.shape[2:], mode="bilinear", align_corners=False
        )

    with torch.no_grad():
        enc1 = model.conv1(x)
        enc2 = model.conv2(model.pool1(enc1))
        y = model.bottom(model.pool2(enc2))
        y = model.dec2(torch.cat([enc2, up(y, enc2)], dim=1))
        y = up(y, enc1) + model.up2_skip(enc1)
        assert torch.allclose(model(x), model.conv3(y))


def test_the_emitted_network_scripts_exports_and_matches(tmp_path: Path) -> None:
    data = unet()
    graph = skipgen.lower_spec(data)
    source = skipgen.generate_source(data)
    assert "x = self.up1(x, enc2)" in source
    module = load_module(source, tmp_path)
    assert_equivalent(graph, module.Net, (2, 3, 11, 9))
    model = module.Net().eval()
    x = torch.randn(1, 3, 11, 9)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.jit.script(model)(x), expected)
        exported = torch.export.export(model, (x,))
        assert torch.allclose(exported.module()(x), expected)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript-based exporter
def test_the_emitted_network_exports_to_onnx_at_any_size(tmp_path: Path) -> None:
    """Exported at one size with dynamic height and width, it still meets each skip's size
    at another: the interpolation's size is read from the skip, not fixed at export."""
    onnxruntime = pytest.importorskip("onnxruntime")
    model = load_module(skipgen.generate_source(unet()), tmp_path).Net().eval()
    path = tmp_path / "net.onnx"
    axes = {"x": {2: "h", 3: "w"}}
    torch.onnx.export(
        model,
        (torch.randn(1, 3, 12, 12),),
        str(path),
        dynamo=False,
        input_names=["x"],
        dynamic_axes=axes,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, 11, 9)
    (actual,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        expected = model(x)
    assert actual.shape == tuple(expected.shape) == (1, 2, 11, 9)
    assert torch.allclose(torch.from_numpy(actual), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"skip": None},
            "layers[5].size: size: skip takes the size of a long skip's source, and this "
            "layer has no long skip",
        ),
        ({"channels": 8}, "layers[5].channels: size: skip is interpolation alone"),
        ({"scale": 2}, "layers[5].scale: size: skip takes the size from the skip"),
        ({"mode": "transposed"}, "layers[5].mode: size: skip interpolates"),
        ({"kernel": 3}, "layers[5].kernel: kernel applies to a conv"),
    ],
)
def test_what_cannot_take_the_skips_size_is_refused_at_its_key(
    change: dict[str, Any], message: str
) -> None:
    data = unet()
    layer = {**data["layers"][5], **change}
    data["layers"][5] = {k: v for k, v in layer.items() if v is not None}
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(data)
    assert [d.message for d in info.value.diagnostics if d.message.startswith(message)]
