"""The ConvNeXt block as a torch module, written as skipgen.nn's blocks are."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from skipgen.nn.layers import combine, conv_nd, drop_path

from .norm import ChannelLayerNorm


class ConvNeXtBlock(nn.Module):
    """7x7 depthwise conv, LayerNorm, 1x1 conv to 4x channels, GELU, 1x1 conv back,
    layer scale, then the input added (``skip="add"``)."""

    def __init__(
        self,
        channels: int,
        *,
        dims: int = 2,
        expansion: int = 4,
        layer_scale: float = 1e-6,
        skip: str = "add",
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        conv = conv_nd(dims)
        hidden = channels * expansion
        self.dwconv = conv(channels, channels, 7, padding=3, groups=channels)
        self.norm = ChannelLayerNorm(channels, eps=1e-6)
        self.pwconv1 = conv(channels, hidden, 1)
        self.act = nn.GELU()
        self.pwconv2 = conv(hidden, channels, 1)
        self.gamma = nn.Parameter(torch.full((channels,) + (1,) * dims, layer_scale))
        self.skip = skip
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        out = self.norm(self.dwconv(x))
        out = self.pwconv2(self.act(self.pwconv1(out)))
        out = drop_path(self.gamma * out, self.drop_path, self.training)
        return combine(out, x, self.skip)
