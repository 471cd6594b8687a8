"""``skip: {mode: mul, from: ...}``: an earlier output multiplied into the main path, as an
attention gate scales a U-Net's skip features (Oktay et al. 2018)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module


def gated(gate_channels: int = 1, **skip: Any) -> dict[str, Any]:
    """Features ``enc``, then a gate computed from them, multiplied back into them."""
    return {
        "name": "Net",
        "input": {"channels": 3, "dims": 2},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": [
            {"type": "conv", "channels": 16, "id": "enc"},
            {"type": "conv", "channels": 8, "kernel": 1},
            {
                "type": "conv",
                "channels": gate_channels,
                "kernel": 1,
                "norm": "none",
                "act": "sigmoid",
                "name": "gate",
                "skip": {"mode": "mul", "from": "enc", **skip},
            },
            {"type": "conv", "channels": 4, "kernel": 1, "name": "head"},
        ],
    }


def test_a_one_channel_gate_scales_every_channel() -> None:
    model = skipgen.build_model(gated()).double().eval()
    x = torch.randn(2, 3, 7, 9, dtype=torch.double)
    with torch.no_grad():
        enc = model.conv1(x)
        alpha = torch.sigmoid(model.gate[0](model.conv2(enc)))
        assert alpha.shape[1] == 1
        assert torch.allclose(model(x), model.head(enc * alpha))
    graph = skipgen.lower_spec(gated())
    assert next(stage.long_skip for _, stage in graph.leaves() if stage.long_skip).mode == "mul"
    assert graph.size_rule == "height and width: any size"


def test_channels_that_match_multiply_one_by_one() -> None:
    model = skipgen.build_model(gated(16)).double().eval()
    x = torch.randn(2, 3, 5, 5, dtype=torch.double)
    with torch.no_grad():
        enc = model.conv1(x)
        alpha = torch.sigmoid(model.gate[0](model.conv2(enc)))
        assert torch.allclose(model(x), model.head(enc * alpha))


def test_other_channels_are_refused_at_the_skip_or_projected() -> None:
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(gated(4))
    [diagnostic] = info.value.diagnostics
    assert diagnostic.message == (
        "layers[2].skip: mul cannot combine 16 channels from 'enc' with 4 output channels"
    )
    data = gated(4)
    data["layers"][2]["on_mismatch"] = "project"
    graph = skipgen.lower_spec(data)
    [skip] = [stage.long_skip for _, stage in graph.leaves() if stage.long_skip]
    assert skip.note == "projected"
    assert skip.params == 16 * 4 + 4  # the layer has no norm: the conv takes a bias


def test_mul_needs_an_earlier_output() -> None:
    text = "name: Net\ninput: {channels: 3}\nlayers:\n  - {type: conv, channels: 8, skip: mul}\n"
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(text)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (4, 37)
    assert diagnostic.message.startswith("layers[0].skip: mul multiplies the output by")
    assert diagnostic.hint is not None and "from" in diagnostic.hint


def test_the_spatial_sizes_must_agree() -> None:
    data = gated()
    data["layers"][1]["stride"] = 2
    with pytest.raises(SpecError, match="mul cannot combine a shortcut from 'enc' at 2 times"):
        skipgen.lower_spec(data)


def test_the_emitted_gate_is_the_runtime_one(tmp_path: Path) -> None:
    for data in (gated(), gated(16)):
        graph = skipgen.lower_spec(data)
        source = skipgen.generate_source(data)
        assert "x = x * enc" in source
        module = load_module(source, tmp_path)
        assert_equivalent(graph, module.Net, (2, 3, 6, 6))
