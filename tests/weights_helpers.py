"""A tiny ResNet spec and its weights, shared by the weights tests."""

from __future__ import annotations

import torch
from torch import Tensor, nn

import skipgen

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
