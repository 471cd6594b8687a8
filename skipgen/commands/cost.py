"""What a block costs: multiply-accumulates, counted from its call without importing torch.

The count follows torchinfo's convention: a convolution's weight and bias cost one MAC
per element and per output position (transposed convolutions too, at their output); every
other parameter (a linear layer's, a norm's, a PReLU's slopes) costs one MAC per sample.
Activations, pooling, dropout, additions and concatenations cost nothing. So a block costs
``sum(conv params * output positions) + (its other params)``; the formulas below give, per
block class, each convolution's parameters and the positions it runs at. A class that is
not listed here (a plugin's) has no count: :func:`node_macs` returns ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

from skipgen.ir.graph import Block, Call, LongSkip, Node, Partial

Conv = tuple[int, int]  # (parameters, output positions)


@dataclass(frozen=True)
class At:
    """The positions (height x width ...) of a block's input and output, per sample."""

    inp: int
    out: int
    dims: int


def conv_params(cin: int, cout: int, kernel: int, dims: int, groups: int, bias: bool) -> int:
    return cout * (cin // groups) * kernel**dims + (cout if bias else 0)


def _args(call: Call | Partial, names: tuple[str, ...], **defaults: Any) -> dict[str, Any]:
    """The call's arguments by name, with the class's defaults for those left out."""
    bound = dict(defaults)
    bound.update(zip(names, call.args, strict=False))
    bound.update(call.kwargs)
    return bound


def _has_norm(norm_layer: Any) -> bool:
    """Whether a ``norm_layer`` argument (default: batch norm) makes a norm at all."""
    return not (isinstance(norm_layer, Partial) and norm_layer.target == "nn.Identity")


def _torch_conv(call: Call, at: At) -> list[Conv]:
    names = ("in_channels", "out_channels", "kernel_size", "stride", "padding")
    a = _args(call, names, groups=1, bias=True)
    k = a["kernel_size"]
    params = conv_params(a["in_channels"], a["out_channels"], k, at.dims, a["groups"], a["bias"])
    return [(params, at.out)]


def _conv_norm_act(call: Call, at: At) -> list[Conv]:
    names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation")
    a = _args(call, (*names, "groups", "bias"), kernel_size=3, groups=1, bias=None)
    bias = not _has_norm(a.get("norm_layer")) if a["bias"] is None else a["bias"]
    params = conv_params(
        a["in_channels"], a["out_channels"], a["kernel_size"], at.dims, a["groups"], bias
    )
    return [(params, at.out)]


def _shortcut_projection(call: Call, a: dict[str, Any], at: At) -> list[Conv]:
    """The block's projection shortcut, when it has one (``downsample=True``): a conv of
    ``shortcut_kernel`` at the output's positions, after ResNet-D's pool or with the stride.
    A pre-activation block's projection has no norm and no bias unless it is given them."""
    if not a.get("downsample", False):
        return []
    cin, cout = a["in_channels"], a["out_channels"]
    to = cin if a.get("skip", "add") == "concat" else cout
    preact = call.target.startswith("PreAct")
    norm_layer = a.get("shortcut_norm") or (
        Partial("nn.Identity") if preact else a.get("norm_layer")
    )
    bias = a.get("shortcut_bias")
    if bias is None:
        bias = False if preact else not _has_norm(norm_layer)
    kernel = a.get("shortcut_kernel", 1)
    return [(conv_params(cin, to, kernel, at.dims, 1, bias), at.out)]


_BLOCK = ("in_channels", "out_channels", "stride")


def _basic(call: Call, at: At) -> list[Conv]:
    a = _args(call, _BLOCK, groups=1)
    cin, cout, bias = a["in_channels"], a["out_channels"], not _has_norm(a.get("norm_layer"))
    convs = [
        (conv_params(cin, cout, 3, at.dims, a["groups"], bias), at.out),
        (conv_params(cout, cout, 3, at.dims, 1, bias), at.out),
    ]
    return convs + _shortcut_projection(call, a, at)


def _squeeze_excitation(channels: int, se_channels: int, dims: int) -> list[Conv]:
    """Two 1x1 convs with bias on the pooled (one-position) tensor."""
    if not se_channels:
        return []
    return [
        (conv_params(channels, se_channels, 1, dims, 1, True), 1),
        (conv_params(se_channels, channels, 1, dims, 1, True), 1),
    ]


def _bottleneck(call: Call, at: At) -> list[Conv]:
    a = _args(call, _BLOCK, groups=1, se_channels=0)
    cin, cout, width = a["in_channels"], a["out_channels"], a["width"]
    bias = not _has_norm(a.get("norm_layer"))
    convs = [
        (conv_params(cin, width, 1, at.dims, 1, bias), at.inp),  # before the stride
        (conv_params(width, width, 3, at.dims, a["groups"], bias), at.out),
        (conv_params(width, cout, 1, at.dims, 1, bias), at.out),
    ]
    if call.target == "ResBottleneckBlock":  # RegNet's: the SE over the inner width
        convs += _squeeze_excitation(width, a["se_channels"], at.dims)
    else:  # SE-ResNet's: the SE over the output, after the last norm
        convs += _squeeze_excitation(cout, a["se_channels"], at.dims)
    return convs + _shortcut_projection(call, a, at)


def _inverted_residual(call: Call, at: At) -> list[Conv]:
    a = _args(call, _BLOCK, kernel_size=3, se_channels=0, fused=False)
    cin, cout, hidden = a["in_channels"], a["out_channels"], a["hidden_channels"]
    norm_layer = a.get("norm_layer")
    bias = not _has_norm(norm_layer)
    kernel = a["kernel_size"]
    if a["fused"] and hidden == cin:  # Fused-MBConv at expansion 1: one kxk conv
        return [(conv_params(cin, cout, kernel, at.dims, 1, bias), at.out)]
    convs: list[Conv] = []
    if a["fused"]:  # the expansion is a full kxk conv with the stride; no depthwise
        convs.append((conv_params(cin, hidden, kernel, at.dims, 1, bias), at.out))
    else:
        if hidden != cin:
            convs.append((conv_params(cin, hidden, 1, at.dims, 1, bias), at.inp))
        convs.append((conv_params(hidden, hidden, kernel, at.dims, hidden, bias), at.out))
    if a["se_channels"]:  # two 1x1 convs with bias on the pooled (one-position) tensor
        se = a["se_channels"]
        convs += [(conv_params(hidden, se, 1, at.dims, 1, True), 1)]
        convs += [(conv_params(se, hidden, 1, at.dims, 1, True), 1)]
    convs.append((conv_params(hidden, cout, 1, at.dims, 1, bias), at.out))
    return convs + _shortcut_projection(call, a, at)


def _dense_block(call: Call, at: At) -> list[Conv]:
    a = _args(call, ("in_channels", "num_layers", "growth"), bn_size=4)
    growth, width = a["growth"], a["bn_size"] * a["growth"]
    bias = not _has_norm(a.get("norm_layer"))
    convs: list[Conv] = []
    for i in range(a["num_layers"]):
        cin = a["in_channels"] + i * growth
        convs.append((conv_params(cin, width, 1, at.dims, 1, bias), at.out))
        convs.append((conv_params(width, growth, 3, at.dims, 1, bias), at.out))
    return convs


def _transition(call: Call, at: At) -> list[Conv]:
    a = _args(call, ("in_channels", "out_channels"))
    bias = not _has_norm(a.get("norm_layer"))
    # the 1x1 conv runs before the pool, at the input's size
    return [(conv_params(a["in_channels"], a["out_channels"], 1, at.dims, 1, bias), at.inp)]


def _up_conv(call: Call, at: At) -> list[Conv]:
    a = _args(call, ("in_channels", "out_channels", "scale"), scale=2, mode="transposed")
    a.setdefault("kernel_size", None)
    a.setdefault("bias", None)
    default_kernel = a["scale"] if a["mode"] == "transposed" else 3
    kernel = a["kernel_size"] if a["kernel_size"] is not None else default_kernel
    # UpConv's norm_layer defaults to none
    has_norm = "norm_layer" in a and _has_norm(a["norm_layer"])
    bias = not has_norm if a["bias"] is None else a["bias"]
    cin, cout = a["in_channels"], a["out_channels"]
    return [(conv_params(cin, cout, kernel, at.dims, 1, bias), at.out)]


def _shortcut(call: Call, at: At) -> list[Conv] | None:
    a = _args(call, ("body", "in_channels", "out_channels", "stride"))
    body = block_convs(a["body"], at)
    if body is None:
        return None
    return body + _shortcut_projection(call, a, at)


def _no_convs(call: Call, at: At) -> list[Conv]:
    return []


_FORMULAS: dict[str, Callable[[Call, At], list[Conv] | None]] = {
    "ConvNormAct": _conv_norm_act,
    "NormActConv": _conv_norm_act,
    "NormAct": _no_convs,
    "Shortcut": _shortcut,
    "BasicBlock": _basic,
    "PreActBasicBlock": _basic,
    "Bottleneck": _bottleneck,
    "PreActBottleneck": _bottleneck,
    "ResBottleneckBlock": _bottleneck,
    "InvertedResidual": _inverted_residual,
    "MBConv": _inverted_residual,
    "DenseBlock": _dense_block,
    "MemoryEfficientDenseBlock": _dense_block,
    "Transition": _transition,
    "UpConv": _up_conv,
    "Interpolate": _no_convs,
    "Classifier": _no_convs,  # a linear layer: one MAC per parameter
    "MLPClassifier": _no_convs,  # linear layers only
    "LayerNormNd": _no_convs,  # a bare norm layer
}


def block_convs(call: Call, at: At) -> list[Conv] | None:
    """Every convolution of a block: its parameters and output positions (None: unknown)."""
    target = call.target
    if target.startswith("nn."):
        name = target[3:]
        if name.startswith("ConvTranspose") or name.startswith("Conv"):
            return _torch_conv(call, at)
        return []  # norms, activations (PReLU's slopes), pools, dropout, identity
    formula = _FORMULAS.get(target)
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
    """A long skip's projection, or a composite block's shortcut (a 1x1 conv and a norm at
    the output size)."""
    if skip.projection is None:
        return 0
    if out_size is None:
        return None
    a = _args(skip.projection, ("in_channels", "out_channels", "stride"))
    bias = not _has_norm(a.get("norm_layer"))
    conv = conv_params(a["in_channels"], a["out_channels"], 1, dims, 1, bias)
    return conv * prod(out_size) + skip.params - conv
