"""What ConvNeXt's block runs: its channels moved last and back (so that a linear layer and
a layer norm act on them), a learned per-channel scale, and stochastic depth as a module."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .layers import drop_path


class Permute(nn.Module):
    """The dimensions of the input in the order ``dims`` (torchvision's ``Permute``)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


def scale_parameter(channels: int, init: float, dims: int = 2) -> nn.Parameter:
    """A learned scale per channel, ``init`` at first, shaped ``(channels, 1, ...)`` to
    multiply a channels-first map (torchvision's ConvNeXt ``layer_scale``)."""
    return nn.Parameter(torch.full((channels, *[1] * dims), init))


class ConstantScale(nn.Module):
    """The input times a constant: a residual branch scaled before it is added
    (Inception-ResNet's 0.17, EDSR's 0.1)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return x * self.value


class StochasticDepth(nn.Module):
    """While training, zero whole samples with probability ``p`` and rescale the rest
    (torchvision's ``StochasticDepth(p, "row")``); the input unchanged in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.p, self.training)
