"""Merging several outputs of a network into one: the modules a ``concat``, ``add`` or
``mul`` layer calls with the outputs it names, in the order it names them."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Concat(nn.Module):
    """Concatenates its inputs along the channels, in order."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        return torch.cat(xs, dim=1)


class Add(nn.Module):
    """The sum of its inputs."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Mul(nn.Module):
    """The element-wise product of its inputs (one with a single channel broadcasts)."""

    def forward(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out
