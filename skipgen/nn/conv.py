"""Convolution + normalization + activation stacks and a generic local shortcut."""

from typing import Optional

from torch import Tensor, nn

from .layers import (
    act_layer,
    check_skip,
    combine,
    conv_nd,
    drop_path,
    norm_layer,
    projection,
    same_padding,
)


class ConvNormAct(nn.Sequential):
    """Convolution, normalization and activation, like ``Conv2dNormActivation``.

    Children are numbered in order (``0`` conv, ``1`` norm, ``2`` act), as in
    torchvision; layers set to "none" are left out. With ``preact=True`` the order is
    norm, act, conv and the norm runs over the input channels. ``padding=None`` keeps
    the size for stride 1; ``bias=None`` gives the convolution a bias only when
    ``norm="none"``.
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
        norm: str = "batch",
        act: str = "relu",
        preact: bool = False,
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        if padding is None:
            padding = same_padding(kernel_size, dilation)
        if bias is None:
            bias = norm == "none"
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
        norm_channels = in_channels if preact else out_channels
        norm_module = norm_layer(
            norm,
            dims,
            norm_channels,
            norm_groups,
            norm_eps,
            norm_momentum,
        )
        if preact:
            # Without a norm in front, an in-place activation would overwrite the input.
            layers = [norm_module, act_layer(act, inplace=norm != "none"), conv]
        else:
            layers = [conv, norm_module, act_layer(act)]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class NormAct(nn.Sequential):
    """Normalization followed by an activation, e.g. DenseNet's final ``norm5`` + ReLU.

    Children are numbered in order; layers set to "none" are left out.
    """

    def __init__(
        self,
        channels: int,
        *,
        dims: int = 2,
        norm: str = "batch",
        act: str = "relu",
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        layers = [
            norm_layer(norm, dims, channels, norm_groups, norm_eps, norm_momentum),
            act_layer(act, inplace=norm != "none"),
        ]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class Shortcut(nn.Module):
    """Local skip connection around a ``body`` that has none of its own.

    The shortcut is the input itself, or a 1x1 projection when ``downsample=True``
    (to ``out_channels`` for ``skip="add"``, to ``in_channels`` for ``skip="concat"``).
    Output channels are ``out_channels``, or ``in_channels + out_channels`` for
    "concat".
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
        norm: str = "batch",
        norm_groups: int = 32,
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        check_skip(in_channels, out_channels, stride, skip, downsample)
        self.body = body
        shortcut: Optional[nn.Module] = None  # noqa: UP045
        if downsample:
            shortcut = projection(
                in_channels,
                in_channels if skip == "concat" else out_channels,
                stride,
                dims=dims,
                norm=norm,
                norm_groups=norm_groups,
                norm_eps=norm_eps,
                norm_momentum=norm_momentum,
            )
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
