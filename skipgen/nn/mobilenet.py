"""Squeeze-and-excitation and inverted residual blocks (MobileNetV2, EfficientNet)."""

from collections.abc import Callable
from functools import partial
from typing import Optional

from torch import Tensor, nn

from .conv import ConvNormAct
from .layers import (
    ActLayer,
    act_layer,
    check_skip,
    combine,
    conv_nd,
    drop_path,
    global_pool,
    projection,
)


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018) laid out like torchvision's SqueezeExcitation.

    Global average pool, 1x1 conv down to ``squeeze_channels``, activation ``act``, 1x1
    conv back to ``channels`` and a ``gate`` ("sigmoid", or MobileNetV3's
    "hardsigmoid") that scales the input. Both 1x1 convs have a bias.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        *,
        act: ActLayer = "silu",
        gate: str = "sigmoid",
        dims: int = 2,
    ) -> None:
        super().__init__()
        conv = conv_nd(dims)
        self.avgpool = global_pool("avg", dims)
        self.fc1 = conv(channels, squeeze_channels, kernel_size=1)
        self.fc2 = conv(squeeze_channels, channels, kernel_size=1)
        self.activation = act_layer(act)
        self.scale_activation = act_layer(gate, inplace=False)

    def forward(self, x: Tensor) -> Tensor:
        scale: Tensor = self.activation(self.fc1(self.avgpool(x)))
        scale = self.scale_activation(self.fc2(scale))
        return x * scale


def expand_depthwise_se(
    in_channels: int,
    hidden_channels: int,
    stride: int,
    *,
    kernel_size: int,
    se_channels: int,
    dims: int,
    norm_layer: Callable[..., nn.Module],
    act: ActLayer,
    se_act: Optional[ActLayer],  # noqa: UP045
    se_gate: str,
    fused: bool,
) -> list[nn.Module]:
    """The layers an inverted residual runs before its projection.

    A 1x1 expansion to ``hidden_channels`` (left out when it equals ``in_channels``), a
    depthwise ``kernel_size`` convolution with the stride, and a squeeze-and-excitation
    when ``se_channels > 0`` (its activation ``se_act``, by default ``act``). ``fused``
    (EfficientNetV2's Fused-MBConv): the expansion is a full ``kernel_size``
    convolution with the stride, and there is no depthwise convolution.
    """
    conv_norm_act = partial(ConvNormAct, dims=dims, norm_layer=norm_layer, act=act)
    layers: list[nn.Module] = []
    if fused:
        layers.append(conv_norm_act(in_channels, hidden_channels, kernel_size, stride))
    else:
        if hidden_channels != in_channels:
            layers.append(conv_norm_act(in_channels, hidden_channels, 1))
        layers.append(
            conv_norm_act(
                hidden_channels,
                hidden_channels,
                kernel_size,
                stride,
                groups=hidden_channels,
            ),
        )
    if se_channels > 0:
        se = SqueezeExcitation(
            hidden_channels,
            se_channels,
            act=act if se_act is None else se_act,
            gate=se_gate,
            dims=dims,
        )
        layers.append(se)
    return layers


def fused_conv(
    in_channels: int,
    out_channels: int,
    stride: int,
    kernel_size: int,
    dims: int,
    norm_layer: Callable[..., nn.Module],
    act: ActLayer,
) -> ConvNormAct:
    """A Fused-MBConv at expansion 1: its only layer, a ``kernel_size`` conv, norm and
    act straight to ``out_channels`` (no expansion to fuse, no projection)."""
    return ConvNormAct(
        in_channels,
        out_channels,
        kernel_size,
        stride,
        dims=dims,
        norm_layer=norm_layer,
        act=act,
    )


class InvertedResidual(nn.Module):
    """Inverted residual with linear bottleneck (torchvision's MobileNetV2 layout).

    ``conv`` holds: a 1x1 expansion to ``hidden_channels`` (left out when it equals
    ``in_channels``), a depthwise ``kernel_size`` convolution with the stride, an
    optional squeeze-and-excitation (``se_channels > 0``), and a 1x1 projection to
    ``out_channels`` followed by a norm and no activation, the two as children of their
    own. ``fused`` (EfficientNetV2's Fused-MBConv): the expansion is a full
    ``kernel_size`` convolution with the stride and there is no depthwise convolution;
    at expansion 1, ``conv`` holds only one conv → norm → act to ``out_channels``.
    Output channels are ``out_channels``, or ``in_channels + out_channels`` for
    ``skip="concat"``. With ``downsample``, the shortcut is a :func:`projection`, shaped
    and placed by the ``shortcut_*`` options as in ResNet's ``BasicBlock``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        hidden_channels: int,
        kernel_size: int = 3,
        se_channels: int = 0,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu6",
        se_act: Optional[ActLayer] = None,  # noqa: UP045
        se_gate: str = "sigmoid",
        fused: bool = False,
        skip: str = "add",
        downsample: bool = False,
        drop_path: float = 0.0,
        shortcut_kernel: int = 1,
        shortcut_pool: bool = False,
        shortcut_norm: Optional[Callable[..., nn.Module]] = None,  # noqa: UP045
        shortcut_bias: Optional[bool] = None,  # noqa: UP045
        shortcut_first: bool = False,
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
            self.downsample = shortcut
        if fused and hidden_channels == in_channels:
            fused_layer = fused_conv(
                in_channels,
                out_channels,
                stride,
                kernel_size,
                dims,
                norm_layer,
                act,
            )
            layers: list[nn.Module] = [fused_layer]
        else:
            layers = expand_depthwise_se(
                in_channels,
                hidden_channels,
                stride,
                kernel_size=kernel_size,
                se_channels=se_channels,
                dims=dims,
                norm_layer=norm_layer,
                act=act,
                se_act=se_act,
                se_gate=se_gate,
                fused=fused,
            )
            out_norm = norm_layer(out_channels)
            no_norm = isinstance(out_norm, nn.Identity)
            layers.append(
                conv_nd(dims)(
                    hidden_channels,
                    out_channels,
                    kernel_size=1,
                    bias=no_norm,
                ),
            )
            if not no_norm:
                layers.append(out_norm)
        self.conv = nn.Sequential(*layers)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.conv(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        return combine(out, identity, self.skip)


class MBConv(nn.Module):
    """Inverted residual laid out as torchvision's EfficientNet MBConv and MobileNetV3.

    The same layers and parameters as :class:`InvertedResidual`, in ``block``: each of
    the expansion, the depthwise convolution, the squeeze-and-excitation and the
    projection is one child, the projection a :class:`ConvNormAct` without activation
    (``block.N.0`` its convolution, ``block.N.1`` its norm). With ``fused``, the layout
    of torchvision's EfficientNetV2 FusedMBConv: ``block.0`` the full expansion
    convolution, ``block.1`` the projection; at expansion 1 ``block.0`` alone. The
    shortcut is as in :class:`InvertedResidual`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        hidden_channels: int,
        kernel_size: int = 3,
        se_channels: int = 0,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "silu",
        se_act: Optional[ActLayer] = None,  # noqa: UP045
        se_gate: str = "sigmoid",
        fused: bool = False,
        skip: str = "add",
        downsample: bool = False,
        drop_path: float = 0.0,
        shortcut_kernel: int = 1,
        shortcut_pool: bool = False,
        shortcut_norm: Optional[Callable[..., nn.Module]] = None,  # noqa: UP045
        shortcut_bias: Optional[bool] = None,  # noqa: UP045
        shortcut_first: bool = False,
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
            self.downsample = shortcut
        if fused and hidden_channels == in_channels:
            fused_layer = fused_conv(
                in_channels,
                out_channels,
                stride,
                kernel_size,
                dims,
                norm_layer,
                act,
            )
            layers: list[nn.Module] = [fused_layer]
        else:
            layers = expand_depthwise_se(
                in_channels,
                hidden_channels,
                stride,
                kernel_size=kernel_size,
                se_channels=se_channels,
                dims=dims,
                norm_layer=norm_layer,
                act=act,
                se_act=se_act,
                se_gate=se_gate,
                fused=fused,
            )
            project = ConvNormAct(
                hidden_channels,
                out_channels,
                1,
                dims=dims,
                norm_layer=norm_layer,
                act="none",
            )
            layers.append(project)
        self.block = nn.Sequential(*layers)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.block(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        return combine(out, identity, self.skip)
