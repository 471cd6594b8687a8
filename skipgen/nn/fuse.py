"""Folding batch norms into the convolutions before them, for inference.

In eval mode a batch norm is a fixed per-channel affine map, so the convolution that
feeds it can absorb it: its weight scaled, its bias shifted, one layer less to run.
A block says which of its children are such pairs in ``conv_norm_pairs`` (torchvision's
``conv1``/``bn1`` style, where only ``forward`` tells the order); the children of a
plain ``nn.Sequential`` chain, nested chains included, pair up where they are adjacent.
A batch norm that no convolution feeds directly (DenseNet's pre-activation ``norm1``,
after a concatenation) stays as it is: in eval mode it is already one affine op.
"""

from itertools import pairwise

import torch
from torch import nn


def fuse_conv_bn(
    conv: nn.modules.conv._ConvNd, bn: nn.modules.batchnorm._BatchNorm
) -> None:
    """Fold the eval-mode batch norm ``bn`` into ``conv``, which feeds it, in place.

    The weight is scaled where it lies, so it keeps its memory format (channels-last
    weights stay channels-last: a copy would lose the layout the kernels were picked
    for); a convolution without a bias gets one. The arithmetic runs in float64 and
    rounds once to the weight's dtype. ``bn`` must then be dropped from the network.
    """
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("a batch norm without running statistics cannot be folded")
    with torch.no_grad():
        scale = (bn.running_var.double() + bn.eps).rsqrt()
        shift = -bn.running_mean.double() * scale
        if bn.affine:
            scale = scale * bn.weight.double()
            shift = shift * bn.weight.double() + bn.bias.double()
        weight = conv.weight
        if conv.transposed:
            # (in, out / groups, *kernel): row i belongs to group i // (in / groups), whose
            # output channels are numbered on from group * (out / groups).
            groups, per_group = conv.groups, weight.shape[1]
            rows = weight.shape[0] // groups
            factor = scale.view(groups, 1, per_group).expand(groups, rows, per_group)
            factor = factor.reshape(groups * rows, per_group)
        else:
            factor = scale.view(-1, 1)
        # In place, so the weight keeps its strides.
        weight.mul_(
            factor.view(*factor.shape, *[1] * (weight.dim() - 2)).to(weight.dtype)
        )
        if conv.bias is None:
            bias = shift
            conv.bias = nn.Parameter(
                bias.to(weight.dtype), requires_grad=weight.requires_grad
            )
        else:
            conv.bias.copy_(conv.bias.double() * scale + shift)


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether ``norm`` is a batch norm with running statistics of ``conv``'s output."""
    return (
        isinstance(conv, nn.modules.conv._ConvNd)
        and isinstance(norm, nn.modules.batchnorm._BatchNorm)
        and norm.running_mean is not None
        and norm.num_features == conv.out_channels
    )


def _is_chain(module: nn.Module) -> bool:
    """Whether ``module`` runs its children one after the other: a plain ``nn.Sequential``."""
    return (
        isinstance(module, nn.Sequential)
        and type(module).forward is nn.Sequential.forward
    )


def _chain(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The layers a plain ``nn.Sequential`` runs one after the other, by path, nested
    plain chains flattened and ``nn.Identity`` left out."""
    layers: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        if isinstance(child, nn.Identity):
            continue
        if _is_chain(child):
            layers += _chain(child, f"{prefix}{name}.")
        else:
            layers.append((f"{prefix}{name}", child))
    return layers


def _end(network: nn.Module, path: str, last: bool) -> str:
    """The path of the layer that ``path`` runs first (or ``last``): itself, or the first
    (last) layer of its chain."""
    layers = _chain(network.get_submodule(path), f"{path}.")
    if not _is_chain(network.get_submodule(path)) or not layers:
        return path
    return layers[-1 if last else 0][0]


def paired_norms(module: nn.Module) -> list[tuple[str, str]]:
    """The paths, below ``module``, of each convolution and the batch norm it feeds.

    A declared path may name a chain: its last layer is the convolution, or its first
    layer the batch norm.
    """
    pairs: list[tuple[str, str]] = list(getattr(module, "conv_norm_pairs", ()))
    if _is_chain(module):
        layers = _chain(module)
        pairs += [(a, b) for (a, _), (b, _) in pairwise(layers)]
    return pairs


def fuse_conv_norms(network: nn.Module) -> int:
    """Fold every batch norm that a convolution feeds into it, in place, and replace the
    batch norm with ``nn.Identity``; return how many were folded (none the second time).
    """
    folded = 0
    for module in list(network.modules()):
        for first, then in paired_norms(module):
            conv_path, norm_path = _end(module, first, True), _end(module, then, False)
            conv = module.get_submodule(conv_path)
            norm = module.get_submodule(norm_path)
            if not _foldable(conv, norm):
                continue
            assert isinstance(conv, nn.modules.conv._ConvNd)  # for type checkers
            assert isinstance(norm, nn.modules.batchnorm._BatchNorm)
            fuse_conv_bn(conv, norm)
            owner, _, name = norm_path.rpartition(".")
            setattr(module.get_submodule(owner), name, nn.Identity().eval())
            folded += 1
    return folded


def channels_last_on_cpu(network: nn.Module) -> None:
    """Lay out the weights of 2D convolutions on the CPU channels-last, in place.

    oneDNN then runs every convolution channels-last (a channels-last weight makes the
    output channels-last, and the next layers follow), which takes about half the time of
    the default layout at batch 8 (``benchmarks/bench_fuse.py``). Outputs keep their
    values; their strides change. Weights on other devices keep their layout.
    """
    for module in network.modules():
        if isinstance(module, nn.Conv2d) and module.weight.device.type == "cpu":
            weight = module.weight
            weight.data = weight.data.contiguous(memory_format=torch.channels_last)


def fuse_for_inference(network: nn.Module) -> None:
    """Fold the network's batch norms into its convolutions and, on the CPU, lay out its
    convolution weights channels-last; in place, idempotent.

    A network in training mode is refused: its batch norms still learn, and folding
    would freeze them.
    """
    if any(m.training for m in network.modules()):
        raise RuntimeError("fuse() is for inference: call model.eval() first")
    fuse_conv_norms(network)
    channels_last_on_cpu(network)
