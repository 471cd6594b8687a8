"""A graph-shaped generated module works with PyTorch's tooling as a chain does: branches
read by name, merges, a channel split and shuffle, a channels-last MLP with a layer scale,
modules in containers and a dict of outputs, through torch.export and ONNX."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

import skipgen
from tests.backends.helpers import load_module

GRAPHY = """\
name: Graphy
input: {channels: 3, size: 16}
defaults: {norm: batch, act: relu}
outputs: {main: head, side: lateral}
blocks:
  mixer:
    params: {c: int}
    skip: add
    layers:
      - type: sequence
        name: block
        layers:
          - {type: conv, kernel: 3, channels: "${c}", groups: "${c}", norm: none, act: none}
          - {type: permute, to: channels_last}
          - {type: norm, norm: layer, act: none}
          - {type: linear, features: "${2 * c}"}
          - {type: act, act: gelu}
          - {type: linear, features: "${c}"}
          - {type: permute, to: channels_first}
      - {type: scale, init: 0.5, name: layer_scale}
layers:
  - {type: conv, channels: 8, stride: 2, id: stem}
  - {type: chunk, chunks: 2, index: 0, id: kept}
  - {type: conv, channels: 4, from: stem, kernel: 1, id: other}
  - {type: concat, from: [kept, other], id: joined}
  - {type: shuffle, groups: 2}
  - {type: mixer, c: 8, id: mixed}
  - {type: conv, channels: 8, kernel: 1, from: joined, name: blocks.0}
  - {type: add, from: [mixed, blocks.0], id: summed}
  - {type: upsample, mode: bilinear, align_corners: false, size: input, id: head}
  - {type: maxpool, kernel: 1, stride: 2, padding: 0, from: summed, name: blocks.1, id: lateral}
"""
SHAPE = (2, 3, 16, 16)


@pytest.fixture
def graphy(tmp_path: Path) -> nn.Module:
    module: ModuleType = load_module(skipgen.generate_source(GRAPHY), tmp_path, "graphy")
    torch.manual_seed(0)
    return module.Graphy().eval()


def test_the_emitted_graph_computes_what_the_runtime_one_does(graphy: nn.Module) -> None:
    runtime = skipgen.build_model(GRAPHY).eval()
    runtime.load_state_dict(graphy.state_dict())
    x = torch.randn(SHAPE)
    with torch.no_grad():
        ours, theirs = runtime(x), graphy(x)
    assert list(ours) == list(theirs) == ["main", "side"]
    for key in ours:
        assert torch.allclose(ours[key], theirs[key], atol=1e-6)


def test_torch_export(graphy: nn.Module) -> None:
    x = torch.randn(SHAPE)
    exported = torch.export.export(graphy, (x,))
    with torch.no_grad():
        got, expected = exported.module()(x), graphy(x)
    for key in expected:
        assert torch.allclose(got[key], expected[key], atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript-based exporter
def test_onnx_export_runs_in_onnxruntime(graphy: nn.Module, tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    x = torch.randn(SHAPE)
    path = tmp_path / "graphy.onnx"
    torch.onnx.export(
        graphy, (x,), str(path), dynamo=False, input_names=["x"], output_names=["main", "side"]
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    main, side = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        expected = graphy(x)
    assert torch.allclose(torch.from_numpy(main), expected["main"], rtol=1e-4, atol=1e-5)
    assert torch.allclose(torch.from_numpy(side), expected["side"], rtol=1e-4, atol=1e-5)


def test_torchscript(graphy: nn.Module) -> None:
    scripted = torch.jit.script(graphy)
    x = torch.randn(SHAPE)
    with torch.no_grad():
        got, expected = scripted(x), graphy(x)
    for key in expected:
        assert torch.allclose(got[key], expected[key], atol=1e-6)
