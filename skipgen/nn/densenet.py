"""DenseNet layers, blocks and transitions with torchvision's parameter layout."""

from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# torch.jit.is_scripting itself: TorchScript compiles only the branch it selects (type
# checkers take the name torch.jit re-exports for a private one).
from torch._jit_internal import is_scripting

from .checkpoint import checkpointed
from .layers import ActLayer, act_layer, conv_nd, pool_layer


class DenseLayer(nn.Module):
    """Pre-activated 1x1 bottleneck and 3x3 convolution giving ``growth`` new channels.

    Returns only the new features; :class:`DenseBlock` does the concatenation.
    """

    # Each convolution and the norm it feeds, for fuse_conv_norms.
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (("conv1", "norm2"),)

    def __init__(
        self,
        in_channels: int,
        growth: int,
        *,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        super().__init__()
        conv = conv_nd(dims)
        width = bn_size * growth
        self.norm1 = norm_layer(in_channels)
        has_norm = not isinstance(self.norm1, nn.Identity)
        bias = not has_norm
        # Without a norm in front, an in-place activation would overwrite the input.
        self.relu1 = act_layer(act, inplace=has_norm)
        self.conv1 = conv(in_channels, width, kernel_size=1, bias=bias)
        self.norm2 = norm_layer(width)
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
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(
                in_channels + i * growth,
                growth,
                bn_size=bn_size,
                drop_rate=drop_rate,
                dims=dims,
                norm_layer=norm_layer,
                act=act,
            )
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


class MemoryEfficientDenseBlock(DenseBlock):
    """A :class:`DenseBlock` that, while training, keeps only its convolutions' outputs
    for the backward pass, which recomputes each layer's concatenation, norms and
    activations: cheap to redo, and wide to store. (torchvision's ``memory_efficient``
    recomputes the 1x1 convolution too, and keeps the second norm's output.)
    """

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            if is_scripting():  # TorchScript compiles only this branch
                features.append(layer(torch.cat(features, 1)))
            else:
                features.append(checkpointed(layer, *features, keep_convs=True))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Norm, activation, 1x1 convolution and a 2x2 stride-2 pool between dense blocks.

    Children are named ``norm``, ``relu``, ``conv`` and ``pool`` like torchvision's
    ``_Transition``; an ``nn.Identity`` norm or an act set to "none" is left out.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        pool: str = "avg",
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        super().__init__()
        norm = norm_layer(in_channels)
        has_norm = not isinstance(norm, nn.Identity)
        if has_norm:
            self.add_module("norm", norm)
        if act != "none":
            # Without a norm in front, an in-place activation would overwrite the input.
            self.add_module("relu", act_layer(act, inplace=has_norm))
        conv = conv_nd(dims)(
            in_channels,
            out_channels,
            kernel_size=1,
            bias=not has_norm,
        )
        self.add_module("conv", conv)
        self.add_module("pool", pool_layer(pool, dims, kernel_size=2, stride=2))
