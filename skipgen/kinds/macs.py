"""What a block costs, as its kind states it: the convolutions it runs, each with its
parameters and the positions it runs at, counted from the block's call without torch.

The count follows torchinfo's convention: a convolution's weight and bias cost one MAC
per element and per output position (transposed convolutions too, at their output); every
other parameter (a linear layer's, a norm's, a PReLU's slopes) costs one MAC per sample.
Activations, pooling, dropout, additions and concatenations cost nothing. So a block costs
``sum(conv params * output positions) + (its other params)``: a kind gives, in its
``macs`` table, a :data:`Formula` for each block class it calls, which lists the block's
convolutions. A block whose kind states none (a plugin's, unless it does) has no count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skipgen.ir.graph import Call, Partial

Conv = tuple[int, int]  # (parameters, output positions)


@dataclass(frozen=True)
class At:
    """The positions (height x width ...) of a block's input and output, per sample."""

    inp: int
    out: int
    dims: int


# A block's call and positions -> its convolutions; None where they cannot be told.
Formula = Callable[[Call, At], "list[Conv] | None"]


def conv_params(cin: int, cout: int, kernel: int, dims: int, groups: int, bias: bool) -> int:
    return cout * (cin // groups) * kernel**dims + (cout if bias else 0)


def arguments(call: Call | Partial, names: tuple[str, ...], **defaults: Any) -> dict[str, Any]:
    """The call's arguments by name (``names``: its positional ones, in order), with the
    class's defaults for those left out."""
    bound = dict(defaults)
    bound.update(zip(names, call.args, strict=False))
    bound.update(call.kwargs)
    return bound


def has_norm(norm_layer: Any) -> bool:
    """Whether a ``norm_layer`` argument (default: batch norm) makes a norm at all."""
    return not (isinstance(norm_layer, Partial) and norm_layer.target == "nn.Identity")


def no_convs(call: Call, at: At) -> list[Conv]:
    """A block without convolutions: norms, activations, linear layers."""
    return []


def shortcut_projection(call: Call, a: dict[str, Any], at: At) -> list[Conv]:
    """A residual block's projection shortcut, when it has one (``downsample=True``): a
    conv of ``shortcut_kernel`` at the output's positions, after ResNet-D's pool or with
    the stride. A pre-activation block's projection has no norm and no bias unless it is
    given them."""
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
        bias = False if preact else not has_norm(norm_layer)
    kernel = a.get("shortcut_kernel", 1)
    return [(conv_params(cin, to, kernel, at.dims, 1, bias), at.out)]


def squeeze_excitation(channels: int, se_channels: int, dims: int) -> list[Conv]:
    """Two 1x1 convs with bias on the pooled (one-position) tensor."""
    if not se_channels:
        return []
    return [
        (conv_params(channels, se_channels, 1, dims, 1, True), 1),
        (conv_params(se_channels, channels, 1, dims, 1, True), 1),
    ]


def conv_norm_act(call: Call, at: At) -> list[Conv]:
    """``ConvNormAct`` and ``NormActConv``: one convolution."""
    names = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation")
    a = arguments(call, (*names, "groups", "bias"), kernel_size=3, groups=1, bias=None)
    bias = not has_norm(a.get("norm_layer")) if a["bias"] is None else a["bias"]
    params = conv_params(
        a["in_channels"], a["out_channels"], a["kernel_size"], at.dims, a["groups"], bias
    )
    return [(params, at.out)]
