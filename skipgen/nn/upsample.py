"""Learned or interpolating upsampling for decoder paths (U-Net and friends)."""

from collections.abc import Callable
from typing import Optional

from torch import Tensor, nn

from .layers import ActLayer, act_layer, conv_nd, conv_transpose_nd, same_padding


class UpConv(nn.Sequential):
    """Upsample by an integer ``scale`` and map ``in_channels`` to ``out_channels``.

    ``mode="transposed"``: a transposed convolution with stride ``scale`` and kernel
    ``kernel_size`` (default ``scale``). For a kernel ``scale + d`` the padding is
    ``(d + 1) // 2`` and the output padding ``d % 2``, so every spatial size is
    multiplied by exactly ``scale`` (kernel 2 stride 2, kernel 3 stride 2 and kernel 4
    stride 2 all double). ``mode="nearest"`` or ``"bilinear"``: interpolation
    (linear, bilinear or trilinear by ``dims``, with ``align_corners``) followed by a
    ``kernel_size`` (default 3) convolution with same padding.
    A norm (``norm_layer``, called with ``out_channels``) and the activation follow when
    given; ``bias=None`` gives the convolution a bias only when there is no norm.
    Children are numbered in order.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        scale: int = 2,
        *,
        mode: str = "transposed",
        align_corners: bool = False,
        kernel_size: Optional[int] = None,  # noqa: UP045
        bias: Optional[bool] = None,  # noqa: UP045
        dims: int = 2,
        norm_layer: Callable[..., nn.Module] = nn.Identity,
        act: ActLayer = "none",
    ) -> None:
        if scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        norm = norm_layer(out_channels)
        if bias is None:
            bias = isinstance(norm, nn.Identity)
        if mode == "transposed":
            if kernel_size is None:
                kernel_size = scale
            extra = kernel_size - scale
            if extra < 0 or extra % 2 >= scale:
                bad = f"transposed kernel_size={kernel_size} cannot upsample by {scale}"
                need = "kernel_size >= scale, and kernel_size - scale even for scale 1"
                raise ValueError(f"{bad}: use {need}")
            conv = conv_transpose_nd(dims)(
                in_channels,
                out_channels,
                kernel_size,
                stride=scale,
                padding=(extra + 1) // 2,
                output_padding=extra % 2,
                bias=bias,
            )
            layers: list[nn.Module] = [conv]
        elif mode in ("nearest", "bilinear"):
            if kernel_size is None:
                kernel_size = 3
            if kernel_size % 2 == 0:
                got = f"got {kernel_size}"
                raise ValueError(f"kernel_size must be odd after interpolation, {got}")
            conv = conv_nd(dims)(
                in_channels,
                out_channels,
                kernel_size,
                padding=same_padding(kernel_size),
                bias=bias,
            )
            if mode == "nearest":
                upsample = nn.Upsample(scale_factor=scale, mode="nearest")
            else:
                linear_modes = {1: "linear", 2: "bilinear", 3: "trilinear"}
                upsample = nn.Upsample(
                    scale_factor=scale,
                    mode=linear_modes[dims],
                    align_corners=align_corners,
                )
            layers = [upsample, conv]
        else:
            modes = "'transposed', 'nearest' or 'bilinear'"
            raise ValueError(f"mode must be {modes}, got {mode!r}")
        layers += [norm, act_layer(act)]
        super().__init__(*[m for m in layers if not isinstance(m, nn.Identity)])


class Interpolate(nn.Module):
    """Resize ``x`` by interpolation alone to the spatial size of ``like``.

    A U-Net decoder that meets each skip at the skip's own size accepts any input size,
    not only multiples of 2 to its depth. ``mode`` is "nearest" or "bilinear" (linear,
    bilinear or trilinear by ``dims``, with ``align_corners``); the channels are kept.
    """

    def __init__(
        self,
        mode: str = "nearest",
        *,
        dims: int = 2,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        linear_modes = {1: "linear", 2: "bilinear", 3: "trilinear"}
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
        if dims not in linear_modes:
            raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
        self.mode = "nearest" if mode == "nearest" else linear_modes[dims]
        # nearest takes no align_corners: None there
        align: Optional[bool] = None  # noqa: UP045
        if mode != "nearest":
            align = align_corners
        self.align_corners = align

    def forward(self, x: Tensor, like: Tensor) -> Tensor:
        return nn.functional.interpolate(
            x,
            size=like.shape[2:],
            mode=self.mode,
            align_corners=self.align_corners,
        )
