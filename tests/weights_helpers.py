"""A tiny ResNet spec and its weights, and a torchvision-shaped ResNet-50 checkpoint,
shared by the weights tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

import skipgen
from tests.reference.fill import fill_value

SPEC = """\
name: TinyResNet
input: {channels: 3, size: 32}
layers:
  - {type: conv, channels: 8, kernel: 3, stride: 2, name: stem}
  - {type: basic, channels: 8, name: layer1}
  - {type: basic, channels: 16, stride: 2, name: layer2}
  - {type: classifier, classes: 10, name: fc}
"""
STEM = {"stem.0.weight": "conv1.weight"} | {
    f"stem.1.{leaf}": f"bn1.{leaf}"
    for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
}


def tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = skipgen.build_model(SPEC)
    with torch.no_grad():  # make the batch norm statistics differ between seeds too
        for name, t in model.state_dict().items():
            if t.is_floating_point() and "running" in name:
                t.uniform_(0.5, 1.5)
    return model


def torchvision_names(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Our state dict under torchvision's ResNet names (``conv1``/``bn1`` for the stem)."""
    return {STEM.get(k, k): v for k, v in state.items()}


ROOT = Path(__file__).resolve().parent.parent
RESNET50 = ROOT / "configs" / "resnet50.yaml"


def gray10_spec() -> str:
    """configs/resnet50.yaml changed as a user would for a grey-scale, 10-class dataset."""
    text = RESNET50.read_text(encoding="utf-8")
    assert "input: {channels: 3, size: 224}" in text and "classes: 1000" in text
    text = text.replace("input: {channels: 3, size: 224}", "input: {channels: 1, size: 224}")
    return text.replace("classes: 1000", "classes: 10").replace("name: ResNet50", "name: Gray10")


def torchvision_checkpoint(name: str = "resnet50") -> dict[str, Tensor]:
    """A checkpoint with torchvision's keys and shapes for ``name`` (measured from
    torchvision, tests/reference/data), filled by the reference rule."""
    ref = json.loads((ROOT / "tests" / "reference" / "data" / f"{name}.json").read_text())
    checkpoint = {}
    for i, (key, shape) in enumerate(ref["state_dict"]):
        dtype = torch.int64 if key.endswith("num_batches_tracked") else torch.float32
        checkpoint[key] = fill_value(i, key, shape, dtype)
    return checkpoint
