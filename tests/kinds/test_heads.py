"""torchvision's GoogLeNet, SqueezeNet 1.1 and ConvNeXt heads, written with the kinds that
exist (no `linear` kind is needed): the same state_dict keys and shapes, the same outputs.

The torch side is each head as torchvision writes it (torchvision is not a test
dependency), fed the feature map its backbone ends with.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import yaml
from torch import Tensor, nn

import skipgen


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class GoogLeNetHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class SqueezeNetHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        final_conv = nn.Conv2d(512, 1000, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.classifier(x), 1)


class ConvNeXtHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            LayerNorm2d(768, eps=1e-6), nn.Flatten(1), nn.Linear(768, 1000)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(x))


GOOGLENET = """\
- {type: classifier, classes: 1000, dropout: 0.2, name: fc}
"""

SQUEEZENET = """\
- type: sequence
  name: classifier
  layers:
    - {type: dropout, p: 0.5}
    - {type: conv, channels: 1000, kernel: 1, norm: none, act: none}
    - {type: act, act: relu}
    - {type: adaptive_pool, size: [1, 1]}
- {type: flatten}
"""

CONVNEXT = """\
- {type: global_pool, name: avgpool}
- type: sequence
  name: classifier
  layers:
    - {type: norm, norm: {type: layer, eps: 1.0e-6}, act: none}
    - {type: identity}  # torchvision's Flatten(1): no tensors; the classifier flattens
    - {type: classifier, classes: 1000}
"""

HEADS = {
    "googlenet": (GOOGLENET, GoogLeNetHead, (1024, 7)),
    "squeezenet1_1": (SQUEEZENET, SqueezeNetHead, (512, 13)),
    "convnext_tiny": (CONVNEXT, ConvNeXtHead, (768, 7)),
}


def head_spec(layers: str, channels: int, size: int) -> dict[str, Any]:
    return {
        "name": "Head",
        "input": {"channels": channels, "size": size},
        "layers": yaml.safe_load(layers),
    }


@pytest.mark.parametrize("name", HEADS)
def test_the_head_is_torchvisions(name: str) -> None:
    layers, reference, (channels, size) = HEADS[name]
    spec = head_spec(layers, channels, size)
    graph = skipgen.lower_spec(spec)
    assert graph.output_shape() == ("N", 1000)
    ours, theirs = skipgen.build_model(spec).eval(), reference().eval()
    expected = [(k, v.shape) for k, v in theirs.state_dict().items()]
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == expected
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, channels, size, size)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    ours.train()
    theirs.train()
    torch.manual_seed(0)  # the dropout draws the same numbers in both
    a = ours(x)
    torch.manual_seed(0)
    assert torch.allclose(a, theirs(x), atol=1e-6)
