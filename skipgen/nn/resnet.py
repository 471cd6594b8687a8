"""ResNet basic and bottleneck blocks with torchvision's parameter layout, and their
pre-activation variants (He et al. 2016, "Identity Mappings in Deep Residual
Networks")."""

from collections.abc import Callable
from typing import ClassVar, Optional

from torch import Tensor, nn

from .layers import (
    ActLayer,
    act_layer,
    check_skip,
    combine,
    conv_nd,
    drop_path,
    projection,
)
from .mobilenet import SqueezeExcitation


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a skip connection (ResNet-18/34 block).

    ``conv1`` carries the stride, groups and dilation; ``conv2`` is a plain 3x3. The
    convolutions have a bias only without a norm (``norm_layer=nn.Identity``). Output
    channels are ``out_channels``, or ``in_channels + out_channels`` for "concat".

    With ``downsample``, the shortcut is a :func:`projection`: ``shortcut_kernel``,
    ``shortcut_pool`` (ResNet-D's average pool first), ``shortcut_norm`` (default:
    ``norm_layer``) and ``shortcut_bias`` shape it, and ``shortcut_first`` registers it
    before the convolutions, which sets its place in the ``state_dict``.
    """

    # Each convolution and the norm it feeds, for fuse_conv_norms.
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("conv1", "bn1"),
        ("conv2", "bn2"),
    )

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        groups: int = 1,
        dilation: int = 1,
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
        conv = conv_nd(dims)
        bn1, bn2 = norm_layer(out_channels), norm_layer(out_channels)
        bias = isinstance(bn1, nn.Identity)
        self.conv1 = conv(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        self.bn1 = bn1
        self.conv2 = conv(
            out_channels,
            out_channels,
            kernel_size=3,
            padding=1,
            bias=bias,
        )
        self.bn2 = bn2
        self.relu = act_layer(act)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out: Tensor = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        out = combine(out, identity, self.skip)
        out = self.relu(out)
        return out


class PreActBasicBlock(nn.Module):
    """:class:`BasicBlock` with pre-activation (ResNet v2): norm and activation before
    each convolution, no activation after the merge.

    The projection shortcut is a bias-free 1x1 convolution without norm (unless the
    ``shortcut_*`` options of :class:`BasicBlock` say otherwise), applied to the
    pre-activated input. ``bn1`` runs over the ``in_channels``.
    """

    # Each convolution and the norm it feeds, for fuse_conv_norms.
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (("conv1", "bn2"),)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        groups: int = 1,
        dilation: int = 1,
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
                norm_layer=shortcut_norm or nn.Identity,
                bias=False if shortcut_bias is None else shortcut_bias,
            )
        if shortcut_first:
            self.downsample = shortcut
        conv = conv_nd(dims)
        self.bn1 = norm_layer(in_channels)
        no_norm = isinstance(self.bn1, nn.Identity)
        self.conv1 = conv(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=no_norm,
        )
        self.bn2 = norm_layer(out_channels)
        self.conv2 = conv(
            out_channels,
            out_channels,
            kernel_size=3,
            padding=1,
            bias=no_norm,
        )
        # Without a norm in front, an in-place activation would overwrite the input.
        self.relu = act_layer(act, inplace=not no_norm)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(x)
        out = self.relu(out)
        identity = x
        if self.downsample is not None:
            identity = self.downsample(out)
        out = self.conv1(out)

        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)

        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        return combine(out, identity, self.skip)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 and 1x1 expand convolutions and a skip (ResNet-50 block).

    ``width`` is the number of middle channels; ``conv2`` carries the stride, groups
    and dilation (ResNet V1.5, as in torchvision). With ``se_channels``, a
    squeeze-and-excitation ``se`` (ReLU inside, sigmoid gate) rescales the branch after
    ``bn3``, before the merge, as in SE-ResNet. ``skip``, ``downsample`` and the
    ``shortcut_*`` options behave as in :class:`BasicBlock`.
    """

    # Each convolution and the norm it feeds, for fuse_conv_norms.
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("conv1", "bn1"),
        ("conv2", "bn2"),
        ("conv3", "bn3"),
    )

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
        conv = conv_nd(dims)
        bn1, bn2, bn3 = norm_layer(width), norm_layer(width), norm_layer(out_channels)
        bias = isinstance(bn1, nn.Identity)
        self.conv1 = conv(in_channels, width, kernel_size=1, bias=bias)
        self.bn1 = bn1
        self.conv2 = conv(
            width,
            width,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        self.bn2 = bn2
        self.conv3 = conv(width, out_channels, kernel_size=1, bias=bias)
        self.bn3 = bn3
        self.se: nn.Module = nn.Identity()
        if se_channels:
            self.se = SqueezeExcitation(out_channels, se_channels, act=act, dims=dims)
        self.relu = act_layer(act)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out: Tensor = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)

        out = self.conv3(out)
        out = self.bn3(out)
        out = self.se(out)

        if self.downsample is not None:
            identity = self.downsample(x)
        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        out = combine(out, identity, self.skip)
        out = self.relu(out)
        return out


class PreActBottleneck(nn.Module):
    """:class:`Bottleneck` with pre-activation (ResNet v2), as :class:`PreActBasicBlock`
    is to :class:`BasicBlock`: ``bn1`` runs over the ``in_channels``, ``bn3`` over the
    ``width``."""

    # Each convolution and the norm it feeds, for fuse_conv_norms.
    conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("conv1", "bn2"),
        ("conv2", "bn3"),
    )

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        width: int,
        groups: int = 1,
        dilation: int = 1,
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
                norm_layer=shortcut_norm or nn.Identity,
                bias=False if shortcut_bias is None else shortcut_bias,
            )
        if shortcut_first:
            self.downsample = shortcut
        conv = conv_nd(dims)
        self.bn1 = norm_layer(in_channels)
        no_norm = isinstance(self.bn1, nn.Identity)
        self.conv1 = conv(in_channels, width, kernel_size=1, bias=no_norm)
        self.bn2 = norm_layer(width)
        self.conv2 = conv(
            width,
            width,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=no_norm,
        )
        self.bn3 = norm_layer(width)
        self.conv3 = conv(width, out_channels, kernel_size=1, bias=no_norm)
        # Without a norm in front, an in-place activation would overwrite the input.
        self.relu = act_layer(act, inplace=not no_norm)
        self.downsample = shortcut  # kept in place when registered first
        self.skip = skip
        self.drop_path_rate = drop_path

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(x)
        out = self.relu(out)
        identity = x
        if self.downsample is not None:
            identity = self.downsample(out)
        out = self.conv1(out)

        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv2(out)

        out = self.bn3(out)
        out = self.relu(out)
        out = self.conv3(out)

        if self.skip != "none":
            out = drop_path(out, self.drop_path_rate, self.training)
        return combine(out, identity, self.skip)
