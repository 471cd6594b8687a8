"""DenseNet layers, blocks and transitions with torchvision's parameter layout."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import act_layer, conv_nd, norm_layer, pool_layer


class DenseLayer(nn.Module):
    """Pre-activated 1x1 bottleneck and 3x3 convolution giving ``growth`` new channels.

    Returns only the new features; :class:`DenseBlock` does the concatenation.
    """

    def __init__(
        self,
        in_channels: int,
        growth: int,
        *,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        dims: int = 2,
        norm: str = "batch",
        act: str = "relu",
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        conv = conv_nd(dims)
        bias = norm == "none"
        width = bn_size * growth
        self.norm1 = norm_layer(
            norm,
            dims,
            in_channels,
            norm_groups,
            norm_eps,
            norm_momentum,
        )
        # Without a norm in front, an in-place activation would overwrite the input.
        self.relu1 = act_layer(act, inplace=norm != "none")
        self.conv1 = conv(in_channels, width, kernel_size=1, bias=bias)
        self.norm2 = norm_layer(norm, dims, width, norm_groups, norm_eps, norm_momentum)
        self.relu2 = act_layer(act)
        self.conv2 = conv(width, growth, kernel_size=3, padding=1, bias=bias)
        self.drop_rate = float(drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.conv1(self.relu1(self.norm1(x)))
        out = self.conv2(self.relu2(self.norm2(out)))
        if self.drop_rate > 0.0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each seeing the concatenation of earlier features.

    Children are ``denselayer1`` ... ``denselayerN``; the output is the input followed
    by every layer's new features, ``in_channels + num_layers * growth`` channels.
    """

    def __init__(
        self,
        in_channels: int,
        num_layers: int,
        growth: int,
        *,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        dims: int = 2,
        norm: str = "batch",
        act: str = "relu",
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(
                in_channels + i * growth,
                growth,
                bn_size=bn_size,
                drop_rate=drop_rate,
                dims=dims,
                norm=norm,
                act=act,
                norm_groups=norm_groups,
                norm_eps=norm_eps,
                norm_momentum=norm_momentum,
            )
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Norm, activation, 1x1 convolution and a 2x2 stride-2 pool between dense blocks.

    Children are named ``norm``, ``relu``, ``conv`` and ``pool`` like torchvision's
    ``_Transition``; layers set to "none" are left out.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        pool: str = "avg",
        dims: int = 2,
        norm: str = "batch",
        act: str = "relu",
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        if norm != "none":
            norm_module = norm_layer(
                norm,
                dims,
                in_channels,
                norm_groups,
                norm_eps,
                norm_momentum,
            )
            self.add_module("norm", norm_module)
        if act != "none":
            self.add_module("relu", act_layer(act, inplace=norm != "none"))
        conv = conv_nd(dims)(
            in_channels,
            out_channels,
            kernel_size=1,
            bias=norm == "none",
        )
        self.add_module("conv", conv)
        self.add_module("pool", pool_layer(pool, dims, kernel_size=2, stride=2))
