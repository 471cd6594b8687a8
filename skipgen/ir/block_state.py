"""The tensors of each ``skipgen/nn`` block, read from its call without torch.

Each rule follows its class's ``__init__``: the children in the order it assigns them (a
shortcut registered first when ``shortcut_first`` says so), an ``nn.Identity`` norm or
activation of an ``nn.Sequential`` left out of its numbering. ``tests/ir/test_state.py``
holds the rules to the built modules' ``state_dict``.
"""

from __future__ import annotations

from functools import cache

from skipgen.ir.graph import Call, Partial
from skipgen.ir.layer_state import (
    Args,
    Entries,
    Rule,
    act,
    children,
    conv,
    is_torch_layer,
    norm,
    numbered,
    torch_layer,
)
from skipgen.library.nn import LayerDefault
from skipgen.library.plugins import signature_defaults

NO_NORM = Partial("nn.Identity")
Named = list[tuple[str, Entries | None]]


class UnknownBlock(LookupError):
    """A block class whose tensors this module cannot tell (a plugin's)."""


def call_state(call: Call) -> Entries:
    """The tensors of the module a call builds; :class:`UnknownBlock` for a plugin's."""
    if is_torch_layer(call.target):
        return torch_layer(call.target, call.args, call.kwargs)
    if call.target not in BLOCKS:
        raise UnknownBlock(call.target)
    positional, rule = BLOCKS[call.target]
    bound = dict(_defaults(call.target))
    bound.update(zip(positional, call.args, strict=False))
    bound.update(call.kwargs)
    return rule(bound)


@cache
def _defaults(target: str) -> Args:
    """The literal defaults of a skipgen.nn block's signature, a layer class as a Partial."""
    return {
        key: Partial(value.target) if isinstance(value, LayerDefault) else value
        for key, value in signature_defaults(target).items()
    }


def conv_norm_act(
    cin: int, cout: int, kernel: int, a: Args, groups: int = 1, act_as: str | Partial | None = None
) -> Entries:
    """A ``ConvNormAct`` with the norm and dims of the block ``a`` (its act, unless given)."""
    normed = norm(a["norm_layer"], cout)
    made = conv(cin, cout, kernel, a["dims"], groups, normed is None)
    return numbered([made, normed, act(a["act"] if act_as is None else act_as)])


def _conv_norm_act(a: Args) -> Entries:
    normed = norm(a["norm_layer"], a["out_channels"])
    bias = normed is None if a["bias"] is None else a["bias"]
    made = conv(a["in_channels"], a["out_channels"], a["kernel_size"], a["dims"], a["groups"], bias)
    return numbered([made, normed, act(a["act"])])


def _norm_act_conv(a: Args) -> Entries:
    normed = norm(a["norm_layer"], a["in_channels"])
    bias = normed is None if a["bias"] is None else a["bias"]
    made = conv(a["in_channels"], a["out_channels"], a["kernel_size"], a["dims"], a["groups"], bias)
    return numbered([normed, act(a["act"]), made])


def _norm_act(a: Args) -> Entries:
    return numbered([norm(a["norm_layer"], a["channels"]), act(a["act"])])


def _projection(a: Args) -> Entries:
    """``projection``: ResNet-D's pool (or an ``nn.Identity``) first, the conv, its norm."""
    cout = a["out_channels"]
    normed = norm(a["norm_layer"], cout)
    bias = normed is None if a["bias"] is None else a["bias"]
    made = conv(a["in_channels"], cout, a["kernel_size"], a["dims"], 1, bias)
    return numbered([*([[]] if a["pool"] else []), made, normed])


def _downsample(a: Args, preact: bool = False) -> Entries | None:
    """A block's projection shortcut, when ``downsample``; a pre-activation block's has no
    norm and no bias unless the ``shortcut_*`` options give them."""
    if not a["downsample"]:
        return None
    default_norm = NO_NORM if preact else a["norm_layer"]
    bias = a["shortcut_bias"]
    return _projection(
        {
            "in_channels": a["in_channels"],
            "out_channels": a["in_channels"] if a["skip"] == "concat" else a["out_channels"],
            "kernel_size": a["shortcut_kernel"],
            "pool": a["shortcut_pool"],
            "dims": a["dims"],
            "norm_layer": a["shortcut_norm"] or default_norm,
            "bias": False if preact and bias is None else bias,
        }
    )


def _with_shortcut(
    a: Args, name: str, body: Named, after: Named | None = None, preact: bool = False
) -> Entries:
    """``body``, the shortcut ``name`` (first, with ``shortcut_first``), then ``after``."""
    shortcut = (name, _downsample(a, preact))
    rest = after or []
    ordered = [shortcut, *body, *rest] if a["shortcut_first"] else [*body, shortcut, *rest]
    return children(*ordered)


def _basic(a: Args) -> Entries:
    cin, cout, dims, nl = a["in_channels"], a["out_channels"], a["dims"], a["norm_layer"]
    bn1 = norm(nl, cout)
    bias = bn1 is None
    body: Named = [
        ("conv1", conv(cin, cout, 3, dims, a["groups"], bias)),
        ("bn1", bn1),
        ("conv2", conv(cout, cout, 3, dims, 1, bias)),
        ("bn2", norm(nl, cout)),
        ("relu", act(a["act"])),
    ]
    return _with_shortcut(a, "downsample", body)


def _preact_basic(a: Args) -> Entries:
    cin, cout, dims, nl = a["in_channels"], a["out_channels"], a["dims"], a["norm_layer"]
    bn1 = norm(nl, cin)
    bias = bn1 is None
    body: Named = [
        ("bn1", bn1),
        ("conv1", conv(cin, cout, 3, dims, a["groups"], bias)),
        ("bn2", norm(nl, cout)),
        ("conv2", conv(cout, cout, 3, dims, 1, bias)),
        ("relu", act(a["act"])),
    ]
    return _with_shortcut(a, "downsample", body, preact=True)


def squeeze_excitation(
    channels: int, squeeze: int, act_as: str | Partial, gate: str, dims: int
) -> Entries:
    """``SqueezeExcitation``: two 1x1 convs with bias, its activation and its gate."""
    return children(
        ("fc1", conv(channels, squeeze, 1, dims)),
        ("fc2", conv(squeeze, channels, 1, dims)),
        ("activation", act(act_as)),
        ("scale_activation", act(gate)),
    )


def _squeeze_excitation(a: Args) -> Entries:
    return squeeze_excitation(a["channels"], a["squeeze_channels"], a["act"], a["gate"], a["dims"])


def _bottleneck(a: Args) -> Entries:
    cin, cout, width, dims, nl = (
        a["in_channels"],
        a["out_channels"],
        a["width"],
        a["dims"],
        a["norm_layer"],
    )
    bn1 = norm(nl, width)
    bias = bn1 is None
    se = a["se_channels"]
    body: Named = [
        ("conv1", conv(cin, width, 1, dims, 1, bias)),
        ("bn1", bn1),
        ("conv2", conv(width, width, 3, dims, a["groups"], bias)),
        ("bn2", norm(nl, width)),
        ("conv3", conv(width, cout, 1, dims, 1, bias)),
        ("bn3", norm(nl, cout)),
        ("se", squeeze_excitation(cout, se, a["act"], "sigmoid", dims) if se else None),
        ("relu", act(a["act"])),
    ]
    return _with_shortcut(a, "downsample", body)


def _preact_bottleneck(a: Args) -> Entries:
    cin, cout, width, dims, nl = (
        a["in_channels"],
        a["out_channels"],
        a["width"],
        a["dims"],
        a["norm_layer"],
    )
    bn1 = norm(nl, cin)
    bias = bn1 is None
    body: Named = [
        ("bn1", bn1),
        ("conv1", conv(cin, width, 1, dims, 1, bias)),
        ("bn2", norm(nl, width)),
        ("conv2", conv(width, width, 3, dims, a["groups"], bias)),
        ("bn3", norm(nl, width)),
        ("conv3", conv(width, cout, 1, dims, 1, bias)),
        ("relu", act(a["act"])),
    ]
    return _with_shortcut(a, "downsample", body, preact=True)


def _regnet(a: Args) -> Entries:
    """``ResBottleneckBlock``: ``proj`` (first by default), ``f`` (a, b, se, c), activation."""
    cin, cout, width, se = a["in_channels"], a["out_channels"], a["width"], a["se_channels"]
    branch: Named = [
        ("a", conv_norm_act(cin, width, 1, a)),
        ("b", conv_norm_act(width, width, 3, a, a["groups"])),
        ("se", squeeze_excitation(width, se, a["act"], "sigmoid", a["dims"]) if se else None),
        ("c", conv_norm_act(width, cout, 1, a, act_as="none")),
    ]
    return _with_shortcut(a, "proj", [("f", children(*branch))], [("activation", act(a["act"]))])


def _expand_depthwise_se(a: Args) -> list[Entries | None]:
    """``expand_depthwise_se``: what an inverted residual runs before its projection."""
    cin, hidden, kernel = a["in_channels"], a["hidden_channels"], a["kernel_size"]
    if a["fused"]:
        layers = [conv_norm_act(cin, hidden, kernel, a)]
    else:
        expand = [conv_norm_act(cin, hidden, 1, a)] if hidden != cin else []
        layers = [*expand, conv_norm_act(hidden, hidden, kernel, a, groups=hidden)]
    if a["se_channels"] > 0:
        se_act = a["act"] if a["se_act"] is None else a["se_act"]
        layers.append(squeeze_excitation(hidden, a["se_channels"], se_act, a["se_gate"], a["dims"]))
    return list(layers)


def _inverted_layers(a: Args, projection_layout: str) -> Entries:
    """The inverted residual's layers, its projection as two children (``conv``:
    torchvision's MobileNetV2) or one ``ConvNormAct`` without activation (``block``)."""
    cin, hidden, cout = a["in_channels"], a["hidden_channels"], a["out_channels"]
    if a["fused"] and hidden == cin:
        return numbered([conv_norm_act(cin, cout, a["kernel_size"], a)])
    layers = _expand_depthwise_se(a)
    if projection_layout == "block":
        return numbered([*layers, conv_norm_act(hidden, cout, 1, a, act_as="none")])
    out_norm = norm(a["norm_layer"], cout)
    return numbered([*layers, conv(hidden, cout, 1, a["dims"], 1, out_norm is None), out_norm])


def _inverted_residual(a: Args) -> Entries:
    return _with_shortcut(a, "downsample", [("conv", _inverted_layers(a, "conv"))])


def _mbconv(a: Args) -> Entries:
    return _with_shortcut(a, "downsample", [("block", _inverted_layers(a, "block"))])


def _dense_layer(a: Args) -> Entries:
    cin, growth, dims, nl = a["in_channels"], a["growth"], a["dims"], a["norm_layer"]
    width = a["bn_size"] * growth
    norm1 = norm(nl, cin)
    bias = norm1 is None
    return children(
        ("norm1", norm1),
        ("relu1", act(a["act"])),
        ("conv1", conv(cin, width, 1, dims, 1, bias)),
        ("norm2", norm(nl, width)),
        ("relu2", act(a["act"])),
        ("conv2", conv(width, growth, 3, dims, 1, bias)),
    )


def _dense_block(a: Args) -> Entries:
    layers = (
        (
            f"denselayer{i + 1}",
            _dense_layer({**a, "in_channels": a["in_channels"] + i * a["growth"]}),
        )
        for i in range(a["num_layers"])
    )
    return children(*layers)


def _transition(a: Args) -> Entries:
    cin = a["in_channels"]
    normed = norm(a["norm_layer"], cin)
    made = conv(cin, a["out_channels"], 1, a["dims"], 1, normed is None)
    return children(("norm", normed), ("relu", act(a["act"])), ("conv", made))


def _linear(features: int, out: int) -> Entries:
    return [("weight", (out, features)), ("bias", (out,))]


def _mlp_classifier(a: Args) -> Entries:
    """Numbered as its ``nn.Sequential`` holds them: linear, act (kept as ``nn.Identity``
    for none), dropout, linear."""
    first = _linear(a["in_features"], a["hidden_features"])
    return numbered([first, act(a["act"]) or [], [], _linear(a["hidden_features"], a["classes"])])


def _up_conv(a: Args) -> Entries:
    cin, cout, dims = a["in_channels"], a["out_channels"], a["dims"]
    normed = norm(a["norm_layer"], cout)
    bias = normed is None if a["bias"] is None else a["bias"]
    kernel = a["kernel_size"]
    if a["mode"] == "transposed":
        k = a["scale"] if kernel is None else kernel
        weight = ("weight", (cin, cout, *(k,) * dims))
        layers: list[Entries | None] = [[weight, ("bias", (cout,))] if bias else [weight]]
    else:
        layers = [[], conv(cin, cout, 3 if kernel is None else kernel, dims, 1, bias)]
    return numbered([*layers, normed, act(a["act"])])


def _shortcut(a: Args) -> Entries:
    """``Shortcut``: the body (any block's call) and the projection around it."""
    return _with_shortcut(a, "downsample", [("body", call_state(a["body"]))])


_CONV_ARGS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation")
_BLOCK_ARGS = ("in_channels", "out_channels", "stride")
# Each skipgen.nn block: its positional parameters, in order, and its rule.
BLOCKS: dict[str, tuple[tuple[str, ...], Rule]] = {
    "ConvNormAct": ((*_CONV_ARGS, "groups", "bias"), _conv_norm_act),
    "NormActConv": ((*_CONV_ARGS, "groups", "bias"), _norm_act_conv),
    "NormAct": (("channels",), _norm_act),
    # the merges (skipgen.nn.merge) hold no tensors: they combine the outputs they are given
    "Concat": ((), lambda a: []),
    "Add": ((), lambda a: []),
    "Mul": ((), lambda a: []),
    "projection": (_BLOCK_ARGS, _projection),
    "Shortcut": (("body", *_BLOCK_ARGS), _shortcut),
    "BasicBlock": (_BLOCK_ARGS, _basic),
    "PreActBasicBlock": (_BLOCK_ARGS, _preact_basic),
    "Bottleneck": (_BLOCK_ARGS, _bottleneck),
    "PreActBottleneck": (_BLOCK_ARGS, _preact_bottleneck),
    "ResBottleneckBlock": (_BLOCK_ARGS, _regnet),
    "SqueezeExcitation": (("channels", "squeeze_channels"), _squeeze_excitation),
    "InvertedResidual": (_BLOCK_ARGS, _inverted_residual),
    "MBConv": (_BLOCK_ARGS, _mbconv),
    "DenseLayer": (("in_channels", "growth"), _dense_layer),
    "DenseBlock": (("in_channels", "num_layers", "growth"), _dense_block),
    "MemoryEfficientDenseBlock": (("in_channels", "num_layers", "growth"), _dense_block),
    "Transition": (("in_channels", "out_channels"), _transition),
    "Classifier": (("in_features", "classes"), lambda a: _linear(a["in_features"], a["classes"])),
    "MLPClassifier": (("in_features", "hidden_features", "classes"), _mlp_classifier),
    "UpConv": (("in_channels", "out_channels", "scale"), _up_conv),
    "Interpolate": (("mode",), lambda a: []),
    "ChannelShuffle": (("groups",), lambda a: []),
    "ChannelSlice": (("start", "stop"), lambda a: []),
    "Permute": (("dims",), lambda a: []),
    "StochasticDepth": (("p",), lambda a: []),
    "ConstantScale": (("value",), lambda a: []),
    # a parameter of the holder itself, under the layer's own key
    "scale_parameter": (
        ("channels", "init", "dims"),
        lambda a: [("", (a["channels"], *[1] * a.get("dims", 2)))],
    ),
}
