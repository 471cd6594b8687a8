"""The channel LayerNorm of the ConvNeXt block, in a module of its own."""

from __future__ import annotations

from torch import Tensor, nn


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, *spatial)`` tensor."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
