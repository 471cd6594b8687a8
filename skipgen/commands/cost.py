"""What a block costs in multiply-accumulates, counted from its call without importing
torch: the convolutions its kind states (``macs`` in each kind's module; see
:mod:`skipgen.kinds.macs` for the convention, torchinfo's), plus one MAC per sample for
every other parameter. A block whose kind states nothing (a plugin's, unless it does) has
no count: :func:`node_macs` returns ``None``.
"""

from __future__ import annotations

from math import prod

from skipgen.ir.graph import Block, Call, LongSkip, Node
from skipgen.kinds.macs import (
    At,
    Conv,
    arguments,
    conv_params,
    has_norm,
    no_convs,
    shortcut_projection,
)
from skipgen.kinds.plugins import loaded_macs
from skipgen.kinds.registry import BLOCK_MACS


def _torch_conv(call: Call, at: At) -> list[Conv]:
    names = ("in_channels", "out_channels", "kernel_size", "stride", "padding")
    a = arguments(call, names, groups=1, bias=True)
    k = a["kernel_size"]
    params = conv_params(a["in_channels"], a["out_channels"], k, at.dims, a["groups"], a["bias"])
    return [(params, at.out)]


def _shortcut(call: Call, at: At) -> list[Conv] | None:
    """A block with a skip around it (any kind's): its body's convolutions and the
    projection."""
    a = arguments(call, ("body", "in_channels", "out_channels", "stride"))
    body = block_convs(a["body"], at)
    if body is None:
        return None
    return body + shortcut_projection(call, a, at)


def block_convs(call: Call, at: At) -> list[Conv] | None:
    """Every convolution of a block: its parameters and output positions (None: unknown)."""
    target = call.target
    if target.startswith("nn."):
        name = target[3:]
        if name.startswith("ConvTranspose") or name.startswith("Conv"):
            return _torch_conv(call, at)
        return []  # norms, activations (PReLU's slopes), pools, dropout, identity
    if target == "Shortcut":
        return _shortcut(call, at)
    if target == "LayerNormNd":  # a bare norm layer, which any kind's `norm` may be
        return no_convs(call, at)
    formula = BLOCK_MACS.get(target) or loaded_macs().get(target)
    return None if formula is None else formula(call, at)


def node_macs(node: Node, dims: int) -> int | None:
    """The multiply-accumulates of one block for one sample; None without sizes, or for a
    block class this module does not know."""
    if node.in_size is None or (node.out_size is None and not node.flat):
        return None
    at = At(prod(node.in_size), prod(node.out_size) if node.out_size else 1, dims)
    convs = block_convs(node.call, at)
    if convs is None:
        return None
    conv_total = sum(params for params, _ in convs)
    return sum(params * positions for params, positions in convs) + node.params - conv_total


def skip_macs(skip: LongSkip | Block, out_size: tuple[int, ...] | None, dims: int) -> int | None:
    """A long skip's projection, or a composite block's shortcut: a conv (1x1 unless its
    ``shortcut`` says otherwise) at the output size, and a norm."""
    if skip.projection is None:
        return 0
    if out_size is None:
        return None
    a = arguments(skip.projection, ("in_channels", "out_channels", "stride"), kernel_size=1)
    bias = a.get("bias")
    if bias is None:
        bias = not has_norm(a.get("norm_layer"))
    conv = conv_params(a["in_channels"], a["out_channels"], a["kernel_size"], dims, 1, bias)
    return conv * prod(out_size) + skip.params - conv
