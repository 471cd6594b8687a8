"""The `pointwise` kind's block: a 1x1 conv, a norm and an activation."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from skipgen.nn.layers import ActLayer, act_layer, conv_nd


class PointwiseBlock(nn.Module):
    """A 1x1 convolution without bias, the norm, the activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        super().__init__()
        self.conv = conv_nd(dims)(in_channels, out_channels, 1, bias=False)
        self.norm = norm_layer(out_channels)
        self.act = act_layer(act)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.act(self.norm(self.conv(x)))
        return out
