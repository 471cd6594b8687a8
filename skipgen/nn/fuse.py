"""Folding batch norms into the convolutions before them, for inference.

In eval mode a batch norm is a fixed per-channel affine map, so the convolution that
feeds it can absorb it: its weight scaled, its bias shifted, one layer less to run.
A block says which of its children are such pairs in ``conv_norm_pairs`` (torchvision's
``conv1``/``bn1`` style, where only ``forward`` tells the order), and so does a network
for its own layers; the layers of a plain ``nn.Sequential`` chain, nested chains
included, pair up where they are adjacent.
A batch norm that no convolution feeds directly (DenseNet's pre-activation ``norm1``,
after a concatenation) stays as it is: in eval mode it is already one affine op.
"""

import torch
from torch import nn


def fuse_conv_bn(
    conv: nn.modules.conv._ConvNd,
    bn: nn.modules.batchnorm._BatchNorm,
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
            # (in, out / groups, *kernel): row i is in group i // (in / groups), whose
            # output channels are numbered on from group * (out / groups).
            groups, per_group = conv.groups, weight.shape[1]
            rows = weight.shape[0] // groups
            factor = scale.view(groups, 1, per_group).expand(groups, rows, per_group)
            factor = factor.reshape(groups * rows, per_group)
        else:
            factor = scale.view(-1, 1)
        # In place, so the weight keeps its strides.
        shape = (*factor.shape, *[1] * (weight.dim() - 2))
        weight.mul_(factor.view(shape).to(weight.dtype))
        if conv.bias is None:
            bias = shift.to(weight.dtype)
            conv.bias = nn.Parameter(bias, requires_grad=weight.requires_grad)
        else:
            conv.bias.copy_(conv.bias.double() * scale + shift)


def chain_layers(module: nn.Module, path: str = "") -> list[tuple[str, nn.Module]]:
    """The layers ``module`` runs one after the other, by path from ``path``: those of a
    plain ``nn.Sequential`` (one whose ``forward`` is not overridden), nested ones
    flattened and ``nn.Identity`` left out, or else the module itself."""
    plain = type(module).forward is nn.Sequential.forward
    if not (isinstance(module, nn.Sequential) and plain):
        return [(path, module)]
    layers: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        if not isinstance(child, nn.Identity):
            layers += chain_layers(child, f"{path}.{name}" if path else name)
    return layers


def paired_norms(module: nn.Module) -> list[tuple[str, str]]:
    """The paths, below ``module``, of each layer and the layer that it alone feeds.

    They are the pairs ``module`` declares in ``conv_norm_pairs`` (a path that names a
    chain stands for its last layer, or first layer, in that pair) and the neighbours in
    a plain chain.
    """
    pairs = []
    for source, target in getattr(module, "conv_norm_pairs", ()):
        feeding = chain_layers(module.get_submodule(source), source)
        fed = chain_layers(module.get_submodule(target), target)
        if feeding and fed:
            pairs.append((feeding[-1][0], fed[0][0]))
    paths = [path for path, _ in chain_layers(module)]
    pairs += [(paths[i], paths[i + 1]) for i in range(len(paths) - 1)]
    return pairs


def fuse_conv_norms(network: nn.Module) -> int:
    """Fold every batch norm that a convolution alone feeds into it, in place, and
    replace the batch norm with ``nn.Identity``; return how many were folded (none the
    second time)."""
    folded = 0
    for module in list(network.modules()):
        for conv_path, norm_path in paired_norms(module):
            conv = module.get_submodule(conv_path)
            norm = module.get_submodule(norm_path)
            if not isinstance(conv, nn.modules.conv._ConvNd):
                continue
            if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
                continue
            if norm.running_mean is None or norm.num_features != conv.out_channels:
                continue
            fuse_conv_bn(conv, norm)
            owner, _, name = norm_path.rpartition(".")
            setattr(module.get_submodule(owner), name, nn.Identity().eval())
            folded += 1
    return folded


def channels_last_on_cpu(network: nn.Module) -> None:
    """Lay out the weights of 2D convolutions on the CPU channels-last, in place.

    oneDNN then runs every convolution channels-last (a channels-last weight makes
    the output channels-last, and the next layers follow), measured at 0.7x-0.9x the
    time of the default layout at batch 8. Outputs keep their values; their
    strides change. Weights on other devices keep their layout.
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


def layout_for_inference(network: nn.Module) -> None:
    """For a network without batch norms, what is left of ``fuse_for_inference``: lay
    out its convolution weights channels-last on the CPU; in place, idempotent."""
    if any(m.training for m in network.modules()):
        raise RuntimeError("fuse() is for inference: call model.eval() first")
    channels_last_on_cpu(network)
