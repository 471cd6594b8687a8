"""Small layer factories and functional helpers shared by the blocks.

A block takes its norm as ``norm_layer``, a callable given the channel count, as in
torchvision: ``nn.BatchNorm2d`` (the default: pass ``nn.BatchNorm3d`` with ``dims=3``),
``partial(nn.GroupNorm, 32)``, or ``nn.Identity`` for none. An activation set to "none"
is an ``nn.Identity`` too, so that ``forward`` reads as straight lines; the
``nn.Sequential`` blocks leave them out so that their children keep torchvision's
numbering.
"""

from collections.abc import Callable
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv_nd(dims: int) -> type:
    """Return ``nn.Conv1d``, ``nn.Conv2d`` or ``nn.Conv3d`` for ``dims`` 1, 2 or 3."""
    convs = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
    if dims not in convs:
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    return convs[dims]


def conv_transpose_nd(dims: int) -> type:
    """Return the transposed convolution class for ``dims`` 1, 2 or 3."""
    convs = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
    if dims not in convs:
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    return convs[dims]


# An activation as the blocks take it: a name ("relu", "none", ...), or a layer class
# that ``act_layer`` calls with no arguments, such as ``partial(nn.LeakyReLU, 0.1)``.
ActLayer = Union[str, Callable[[], nn.Module]]  # noqa: UP007


def act_layer(act: ActLayer, inplace: bool = True) -> nn.Module:
    """Build an activation module; ``nn.Identity`` for "none".

    ``inplace`` applies to the named activations that support it (ReLU, ReLU6, SiLU,
    Hardswish, Hardsigmoid, LeakyReLU); pass False when the input may be a tensor the
    caller still uses. A layer class is called as it is, so never in place.
    """
    if not isinstance(act, str):
        return act()
    if act == "none":
        return nn.Identity()
    inplace_acts: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "silu": nn.SiLU,
        "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid,
        "leaky_relu": nn.LeakyReLU,
    }
    if act in inplace_acts:
        return inplace_acts[act](inplace=inplace)
    if act == "gelu":
        return nn.GELU()
    if act == "sigmoid":
        return nn.Sigmoid()
    if act == "prelu":
        return nn.PReLU()
    known = [*inplace_acts, "gelu", "prelu", "sigmoid", "none"]
    raise ValueError(f"act must be one of {known}, got {act!r}")


class LayerNormNd(nn.LayerNorm):
    """Layer norm over the channels at each position of an ``(N, C, *)`` input, for 1, 2
    or 3 spatial dimensions: ConvNeXt's ``LayerNorm2d`` (same ``weight`` and ``bias``).

    ``nn.LayerNorm`` normalizes the last dimensions: this moves the channels last, and
    back. ``forward`` takes ``input`` as ``nn.LayerNorm.forward`` does.
    """

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__(channels, eps=eps, elementwise_affine=affine)

    def forward(self, input: Tensor) -> Tensor:
        x = input.movedim(1, -1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.movedim(-1, 1)


def pool_layer(
    kind: str,
    dims: int,
    kernel_size: int,
    stride: Optional[int] = None,  # noqa: UP045
    padding: int = 0,
) -> nn.Module:
    """Build a max or average pooling layer; ``stride`` defaults to ``kernel_size``."""
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    if kind == "max":
        max_pools: dict[int, type[nn.Module]] = {
            1: nn.MaxPool1d,
            2: nn.MaxPool2d,
            3: nn.MaxPool3d,
        }
        return max_pools[dims](kernel_size, stride=stride, padding=padding)
    if kind == "avg":
        avg_pools: dict[int, type[nn.Module]] = {
            1: nn.AvgPool1d,
            2: nn.AvgPool2d,
            3: nn.AvgPool3d,
        }
        return avg_pools[dims](kernel_size, stride=stride, padding=padding)
    raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")


def global_pool(kind: str, dims: int) -> nn.Module:
    """Build an adaptive max or average pooling layer down to spatial size 1."""
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    if kind == "max":
        max_pools = {
            1: nn.AdaptiveMaxPool1d,
            2: nn.AdaptiveMaxPool2d,
            3: nn.AdaptiveMaxPool3d,
        }
        return max_pools[dims](1)
    if kind == "avg":
        avg_pools = {
            1: nn.AdaptiveAvgPool1d,
            2: nn.AdaptiveAvgPool2d,
            3: nn.AdaptiveAvgPool3d,
        }
        return avg_pools[dims](1)
    raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the spatial size of a stride-1 convolution (odd kernels)."""
    return dilation * (kernel_size - 1) // 2


def avg_pool_nd(dims: int) -> type:
    """Return the average pooling class for ``dims`` 1, 2 or 3."""
    pools = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
    if dims not in pools:
        raise ValueError(f"dims must be 1, 2 or 3, got {dims}")
    return pools[dims]


def projection(
    in_channels: int,
    out_channels: int,
    stride: int = 1,
    *,
    kernel_size: int = 1,
    pool: bool = False,
    dims: int = 2,
    norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
    bias: Optional[bool] = None,  # noqa: UP045
) -> nn.Sequential:
    """A strided convolution followed by a norm: ResNet's ``downsample`` shortcut.

    The convolution is 1x1 unless ``kernel_size`` (odd) says otherwise, padded so that
    every size ``n`` becomes ``ceil(n / stride)``, as the blocks' strided convolutions
    do. ``pool=True`` is ResNet-D's shortcut (timm's ``avg_down``): average pooling over
    ``stride`` x ``stride`` windows (ceil mode, padding not counted; ``nn.Identity`` at
    stride 1), then the convolution at stride 1, so that it is child ``1`` and the norm
    child ``2``. ``bias=None`` gives the convolution a bias only when the norm is
    ``nn.Identity``, which is then left out.
    """
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    norm = norm_layer(out_channels)
    if bias is None:
        bias = isinstance(norm, nn.Identity)
    layers: list[nn.Module] = []
    if pool:
        if stride > 1:
            pooling = avg_pool_nd(dims)(stride, ceil_mode=True, count_include_pad=False)
            layers.append(pooling)
        else:
            layers.append(nn.Identity())
        stride = 1
    conv = conv_nd(dims)(
        in_channels,
        out_channels,
        kernel_size=kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        bias=bias,
    )
    layers.append(conv)
    if not isinstance(norm, nn.Identity):
        layers.append(norm)
    return nn.Sequential(*layers)


def check_skip(
    in_channels: int,
    out_channels: int,
    stride: int,
    skip: str,
    downsample: bool,
) -> None:
    """Raise ValueError when a skip connection cannot match the block's output shape."""
    if skip not in ("add", "concat", "none"):
        raise ValueError(f"skip must be 'add', 'concat' or 'none', got {skip!r}")
    if skip == "none":
        if downsample:
            raise ValueError("downsample=True needs a skip connection, got skip='none'")
        return
    if downsample:
        return
    if stride != 1:
        raise ValueError(f"skip={skip!r} with stride={stride} needs downsample=True")
    if skip == "add" and in_channels != out_channels:
        channels = f"from {in_channels} to {out_channels} channels"
        raise ValueError(f"skip='add' {channels} needs downsample=True")


def combine(out: Tensor, identity: Tensor, skip: str) -> Tensor:
    """Merge a block's output with its shortcut.

    ``skip`` is "add", "concat" (the shortcut channels first) or "none".
    """
    if skip == "add":
        return out + identity
    if skip == "concat":
        return torch.cat([identity, out], dim=1)
    if skip == "none":
        return out
    raise ValueError(f"skip must be 'add', 'concat' or 'none', got '{skip}'")


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth: zero whole samples with probability ``p`` and rescale the rest.

    Same as ``torchvision.ops.stochastic_depth(x, p, "row", training)``.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop path probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    survival_rate = 1.0 - p
    size = [x.shape[0]] + [1] * (x.dim() - 1)
    noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return x * noise
