"""The RegNet bottleneck (Radosavovic et al. 2020), laid out as in torchvision."""

from collections import OrderedDict
from collections.abc import Callable
from typing import Optional

from torch import Tensor, nn

from .conv import ConvNormAct
from .layers import ActLayer, act_layer, check_skip, combine, drop_path, projection
from .mobilenet import SqueezeExcitation


class ResBottleneckBlock(nn.Module):
    """RegNet's X block (Y with ``se_channels``), laid out like torchvision's.

    The projection shortcut ``proj`` comes first; the branch ``f`` holds ``a`` (1x1 conv
    to ``width``), ``b`` (3x3 conv with the stride, groups and dilation), ``se`` (when
    ``se_channels`` is set: squeeze-and-excitation over ``width``, the block's
    activation inside and a sigmoid gate) and ``c`` (1x1 conv to ``out_channels``, no
    activation).
    The activation follows the merge. The convolutions have a bias only without a norm;
    ``skip``, ``downsample`` and the ``shortcut_*`` options behave as in
    :class:`BasicBlock`, except that ``shortcut_first`` defaults to True.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        width: int,
        groups: int = 1,
        dilation: int = 1,
        se_channels: int = 0,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
        skip: str = "add",
        downsample: bool = False,
        drop_path: float = 0.0,
        shortcut_kernel: int = 1,
        shortcut_pool: bool = False,
        shortcut_norm: Optional[Callable[..., nn.Module]] = None,  # noqa: UP045
        shortcut_bias: Optional[bool] = None,  # noqa: UP045
        shortcut_first: bool = True,
    ) -> None:
        super().__init__()
        check_skip(in_channels, out_channels, stride, skip, downsample)
        shortcut: Optional[nn.Module] = None  # noqa: UP045
        if downsample:
            shortcut = projection(
                in_channels,
                in_channels if skip == "concat" else out_channels,
                stride,
                kernel_size=shortcut_kernel,
                pool=shortcut_pool,
                dims=dims,
                norm_layer=shortcut_norm or norm_layer,
                bias=shortcut_bias,
            )
        if shortcut_first:
            self.proj = shortcut
        branch: OrderedDict[str, nn.Module] = OrderedDict()
        branch["a"] = ConvNormAct(
            in_channels,
            width,
            1,
            dims=dims,
            norm_layer=norm_layer,
            act=act,
        )
        branch["b"] = ConvNormAct(
            width,
            width,
            3,
            stride,
            dilation=dilation,
            groups=groups,
            dims=dims,
            norm_layer=norm_layer,
            act=act,
        )
        if se_channels:
            branch["se"] = SqueezeExcitation(width, se_channels, act=act, dims=dims)
        branch["c"] = ConvNormAct(
            width,
            out_channels,
            1,
            dims=dims,
            norm_layer=norm_layer,
            act="none",
        )
        self.f = nn.Sequential(branch)
        self.proj = shortcut  # kept in place when registered first
        self.activation = act_layer(act)
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        if self.proj is not None:
            identity = self.proj(x)
        out: Tensor = self.f(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        out = combine(out, identity, self.skip)
        out = self.activation(out)
        return out
