"""Convolution + normalization + activation stacks and a generic local shortcut."""

from collections.abc import Callable
from typing import Optional

from torch import Tensor, nn

from .layers import (
    ActLayer,
    act_layer,
    check_skip,
    combine,
    conv_nd,
    drop_path,
    projection,
    same_padding,
)


class ConvNormAct(nn.Sequential):
    """Convolution, normalization and activation, like ``Conv2dNormActivation``.

    Children are numbered in order (``0`` conv, ``1`` norm, ``2`` act), as in
    torchvision; an ``nn.Identity`` norm or an act set to "none" is left out.
    ``norm_layer`` is called with the channel count; ``padding=None`` keeps the size for
    stride 1; ``bias=None`` gives the convolution a bias only when the norm is
    ``nn.Identity``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: Optional[int] = None,  # noqa: UP045
        dilation: int = 1,
        groups: int = 1,
        bias: Optional[bool] = None,  # noqa: UP045
        *,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        if padding is None:
            padding = same_padding(kernel_size, dilation)
        norm = norm_layer(out_channels)
        if bias is None:
            bias = isinstance(norm, nn.Identity)
        conv = conv_nd(dims)(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        layers = [conv, norm, act_layer(act)]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class NormActConv(nn.Sequential):
    """Normalization, activation and convolution: :class:`ConvNormAct` pre-activated.

    The norm runs over the ``in_channels``. Children are numbered in order (``0`` norm,
    ``1`` act, ``2`` conv); an ``nn.Identity`` norm or an act set to "none" is left out.
    Arguments as in :class:`ConvNormAct`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: Optional[int] = None,  # noqa: UP045
        dilation: int = 1,
        groups: int = 1,
        bias: Optional[bool] = None,  # noqa: UP045
        *,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        if padding is None:
            padding = same_padding(kernel_size, dilation)
        norm = norm_layer(in_channels)
        no_norm = isinstance(norm, nn.Identity)
        if bias is None:
            bias = no_norm
        conv = conv_nd(dims)(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        # Without a norm in front, an in-place activation would overwrite the input.
        layers = [norm, act_layer(act, inplace=not no_norm), conv]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class NormAct(nn.Sequential):
    """Normalization followed by an activation, e.g. DenseNet's final ``norm5`` + ReLU.

    Children are numbered in order; an ``nn.Identity`` norm or an act set to "none" is
    left out. ``norm_layer`` is called with the channel count.
    """

    def __init__(
        self,
        channels: int,
        *,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act: ActLayer = "relu",
    ) -> None:
        norm = norm_layer(channels)
        # Without a norm in front, an in-place activation would overwrite the input.
        layers = [norm, act_layer(act, inplace=not isinstance(norm, nn.Identity))]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class Shortcut(nn.Module):
    """Local skip connection around a ``body`` that has none of its own.

    The shortcut is the input itself, or a projection when ``downsample=True`` (to
    ``out_channels`` for ``skip="add"``, to ``in_channels`` for ``skip="concat"``): a
    strided 1x1 convolution and a norm, unless the ``shortcut_*`` arguments shape it as
    :func:`projection` does (kernel, ResNet-D's pool, its own norm, bias), registered
    after the body or, with ``shortcut_first``, before it. Output channels are
    ``out_channels``, or ``in_channels + out_channels`` for "concat".
    """

    def __init__(
        self,
        body: nn.Module,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        skip: str = "add",
        downsample: bool = False,
        drop_path: float = 0.0,
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
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
        self.body = body
        self.downsample = shortcut
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.body(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        return combine(out, identity, self.skip)
