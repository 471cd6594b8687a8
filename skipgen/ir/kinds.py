"""One lowering rule per block kind: its output channels, its effect on the spatial size,
its parameter count and the constructor call of its ``skipgen.nn`` class.

The vocabulary they share (calls, resolved defaults, the lowered body) is in
:mod:`skipgen.ir.common`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from skipgen.ir.common import (
    ACTIVATIONS,
    Body,
    Resolved,
    bare_conv,
    bare_norm,
    call,
    groups_error,
    same_padding,
)
from skipgen.ir.graph import Call
from skipgen.spec import models as m


def lower_conv(b: m.Conv, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    pad = b.padding if b.padding is not None else same_padding(b.kernel, b.dilation)
    errors = []
    for ch, what in ((cin, "the input"), (cout, "the output")):
        if ch % b.groups:
            errors.append(groups_error("groups", ch, b.groups, what))
    bias = r.has_bias(b.bias)
    params = r.conv_params(cin, cout, b.kernel, b.groups, bias)
    params += r.norm_params(cin if b.preact else cout)
    if r.norm.type == "none" and r.act == "none":  # nothing but a conv: the bare module
        c = bare_conv(r.dims, cin, cout, b.kernel, stride, pad, b.dilation, b.groups, bias)
        return Body(
            cout,
            ("conv", b.kernel, stride, pad, b.dilation),
            params,
            lambda s, d: c,
            stride=stride,
            errors=tuple(errors),
        )
    c = call(
        "ConvNormAct",
        cin,
        cout,
        kernel_size=b.kernel,
        stride=stride,
        padding=b.padding,
        dilation=b.dilation,
        groups=b.groups,
        bias=b.bias if b.bias is not None else r.bias,
        act=r.act,
        preact=b.preact,
        **r.norm_kwargs(),
    )
    return Body(
        cout,
        ("conv", b.kernel, stride, pad, b.dilation),
        params,
        lambda s, d: c,
        stride=stride,
        errors=tuple(errors),
        normed=((cin, "in") if b.preact else (cout, "out"),),
    )


def lower_basic(b: m.Basic, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    errors = []
    for ch, what in ((cin, "the input"), (cout, "the output")):
        if ch % b.groups:
            errors.append(groups_error("groups", ch, b.groups, what))
    # As in skipgen.nn.BasicBlock, groups and dilation apply to conv1 only.
    params = r.conv_params(cin, cout, 3, b.groups) + r.conv_params(cout, cout, 3)
    params += r.norm_params(cin if b.preact else cout) + r.norm_params(cout)

    def make(skip: str, downsample: bool) -> Call:
        return call(
            "BasicBlock",
            cin,
            cout,
            stride=stride,
            groups=b.groups,
            dilation=b.dilation,
            act=r.act,
            preact=b.preact,
            skip=skip,
            downsample=downsample,
            drop_path=b.stochastic_depth or 0.0,
            **r.norm_kwargs(),
        )

    return Body(
        cout,
        ("conv", 3, stride, b.dilation, b.dilation),
        params,
        make,
        True,
        stride,
        tuple(errors),
        ((cin, "in") if b.preact else (cout, "out"), (cout, "out")),
    )


def lower_bottleneck(b: m.Bottleneck, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    errors = []
    if cout % b.expansion:
        errors.append(
            (
                "channels",
                f"bottleneck output channels {cout} are not a multiple of expansion {b.expansion}",
                "channels is the block's output (torchvision's planes * expansion)",
            )
        )
    width = int((cout // b.expansion) * (b.base_width / 64.0)) * b.groups
    if width == 0:
        errors.append(
            (
                "base_width",
                f"the bottleneck's 3x3 conv would have 0 channels "
                f"({cout} // {b.expansion} * {b.base_width} / 64, rounded down)",
                "raise channels or base_width: its width is "
                "channels // expansion * base_width / 64 * groups",
            )
        )
    params = r.conv_params(cin, width, 1) + r.conv_params(width, width, 3, b.groups)
    params += r.conv_params(width, cout, 1)
    params += r.norm_params(cin if b.preact else width) + r.norm_params(width)
    params += r.norm_params(width if b.preact else cout)

    def make(skip: str, downsample: bool) -> Call:
        return call(
            "Bottleneck",
            cin,
            cout,
            stride=stride,
            width=width,
            groups=b.groups,
            dilation=b.dilation,
            act=r.act,
            preact=b.preact,
            skip=skip,
            downsample=downsample,
            drop_path=b.stochastic_depth or 0.0,
            **r.norm_kwargs(),
        )

    return Body(
        cout,
        ("conv", 3, stride, b.dilation, b.dilation),
        params,
        make,
        True,
        stride,
        tuple(errors),
        (
            (cin, "in") if b.preact else (width, "in"),
            (width, "out"),
            (width if b.preact else cout, "out"),
        ),
    )


def lower_inverted_residual(
    b: m.InvertedResidual, r: Resolved, cin: int, cout: int, stride: int
) -> Body:
    hidden = round(cin * b.expansion)
    se = max(1, int(cin * b.se_ratio)) if b.se_ratio > 0 else 0
    params = 0
    if hidden != cin:
        params += r.conv_params(cin, hidden, 1) + r.norm_params(hidden)
    params += r.conv_params(hidden, hidden, b.kernel, hidden) + r.norm_params(hidden)
    if se:
        params += hidden * se + se + se * hidden + hidden
    params += r.conv_params(hidden, cout, 1) + r.norm_params(cout)

    def make(skip: str, downsample: bool) -> Call:
        return call(
            "InvertedResidual",
            cin,
            cout,
            stride=stride,
            hidden_channels=hidden,
            kernel_size=b.kernel,
            se_channels=se,
            act=r.act,
            skip=skip,
            downsample=downsample,
            drop_path=b.stochastic_depth or 0.0,
            **r.norm_kwargs(),
        )

    pad = same_padding(b.kernel)
    expand = ((hidden, "in"),) if hidden != cin else ()
    normed = (*expand, (hidden, "out"), (cout, "out"))
    return Body(cout, ("conv", b.kernel, stride, pad, 1), params, make, True, stride, normed=normed)


def lower_dense(b: m.Dense, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    params = 0
    width = b.bn_size * b.growth
    for i in range(b.layers):
        c = cin + i * b.growth
        params += r.norm_params(c) + r.conv_params(c, width, 1)
        params += r.norm_params(width) + r.conv_params(width, b.growth, 3)
    c = call(
        "DenseBlock",
        cin,
        b.layers,
        b.growth,
        bn_size=b.bn_size,
        drop_rate=b.dropout,
        act=r.act,
        **r.norm_kwargs(),
    )
    normed = (*((cin + i * b.growth, "in") for i in range(b.layers)), (width, "in"))
    return Body(
        cin + b.layers * b.growth, ("conv", 1, 1, 0, 1), params, lambda s, d: c, normed=normed
    )


def lower_transition(b: m.Transition, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    cout = cout or int(cin * b.compression)
    errors = []
    if cout == 0:
        errors.append(
            (
                "compression",
                f"a transition from {cin} channels with compression {b.compression} "
                "would have 0 channels",
                "raise compression, or give `channels`",
            )
        )
    params = r.norm_params(cin) + r.conv_params(cin, cout, 1)
    c = call("Transition", cin, cout, pool=b.pool, act=r.act, **r.norm_kwargs())
    op = ("conv", 2, 2, 0, 1)
    return Body(
        cout, op, params, lambda s, d: c, stride=2, errors=tuple(errors), normed=((cin, "in"),)
    )


def pool_target(kind: str, dims: int) -> str:
    return {"maxpool": "nn.MaxPool", "avgpool": "nn.AvgPool"}[kind] + f"{dims}d"


def lower_pool(b: m.MaxPool, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    s = b.stride if b.stride is not None else b.kernel  # every repeat pools
    pad = b.padding if b.padding is not None else same_padding(b.kernel)
    errors = []
    if 2 * pad > b.kernel:
        errors.append(
            (
                "padding",
                f"padding {pad} is more than half the kernel size {b.kernel}",
                "PyTorch pools allow at most kernel // 2",
            )
        )
    c = call(pool_target(b.type, r.dims), kernel_size=b.kernel, stride=s, padding=pad)
    # PyTorch's 3D average pool refuses an input smaller than its kernel, padding or not.
    least = b.kernel if b.type == "avgpool" and r.dims == 3 else 0
    op = ("conv", b.kernel, s, pad, 1)
    return Body(cin, op, 0, lambda sk, d: c, stride=s, errors=tuple(errors), min_input=least)


def lower_global_pool(b: m.GlobalPool, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    target = {"avg": "nn.AdaptiveAvgPool", "max": "nn.AdaptiveMaxPool"}[b.mode] + f"{r.dims}d"
    c = Call(target, (1,))
    return Body(cin, ("global",), 0, lambda s, d: c)


def lower_upsample(b: m.Upsample, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    transposed = b.mode == "transposed"
    kernel = b.kernel if b.kernel is not None else (b.scale if transposed else 3)
    errors = []
    if transposed and (kernel < b.scale or (b.scale == 1 and kernel % 2 == 0)):
        errors.append(
            (
                "kernel",
                f"a transposed conv with kernel {kernel} cannot upsample by {b.scale} exactly",
                "use a kernel of at least the scale (an odd kernel for scale 1)",
            )
        )
    if not transposed and kernel % 2 == 0:
        errors.append(
            (
                "kernel",
                f"the conv after {b.mode} interpolation needs an odd kernel, not {kernel}",
                "an odd kernel keeps the upsampled size",
            )
        )
    bias = r.has_bias(b.bias)
    params = r.conv_params(cin, cout, kernel, bias=bias) + r.norm_params(cout)
    c = call(
        "UpConv",
        cin,
        cout,
        scale=b.scale,
        mode=b.mode,
        kernel_size=b.kernel,
        bias=b.bias if b.bias is not None else r.bias,
        act=r.act,
        **r.norm_kwargs(),
    )
    normed = ((cout, "out"),)
    return Body(cout, ("up", b.scale), params, lambda s, d: c, errors=tuple(errors), normed=normed)


def lower_act(b: m.Activation, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    c = Call(ACTIVATIONS[b.act])
    return Body(cin, ("conv", 1, 1, 0, 1), 0, lambda s, d: c)


def lower_norm(b: m.NormAct, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    if r.act == "none":
        bare = bare_norm(r, cin)
        normed = ((cin, "in"),)
        return Body(cin, ("conv", 1, 1, 0, 1), r.norm_params(cin), lambda s, d: bare, normed=normed)
    c = call("NormAct", cin, act=r.act, **r.norm_kwargs())
    return Body(
        cin, ("conv", 1, 1, 0, 1), r.norm_params(cin), lambda s, d: c, normed=((cin, "in"),)
    )


def lower_classifier(b: m.Classifier, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    c = call("Classifier", cin, b.classes, dropout=b.dropout, pool=b.pool, dims=r.dims)
    return Body(b.classes, ("global",), cin * b.classes + b.classes, lambda s, d: c)


@dataclass(frozen=True)
class Kind:
    lower: Callable[..., Body]
    skip: str  # default skip mode
    on_mismatch: str  # default, after the kind's paper
    scale_depth: bool  # whether the depth multiplier applies by default
    has_channels: bool  # whether `channels` (scaled by width) sets the output
    own_norm_act: bool = False  # ignores the network defaults for norm and act


KIND_RULES: dict[str, Kind] = {
    "conv": Kind(lower_conv, "none", "error", False, True),
    "basic": Kind(lower_basic, "add", "project", True, True),
    "bottleneck": Kind(lower_bottleneck, "add", "project", True, True),
    "inverted_residual": Kind(lower_inverted_residual, "add", "drop", True, True),
    "dense": Kind(lower_dense, "none", "error", False, False),
    "transition": Kind(lower_transition, "none", "error", False, False),
    "maxpool": Kind(lower_pool, "none", "error", False, False),
    "avgpool": Kind(lower_pool, "none", "error", False, False),
    "global_pool": Kind(lower_global_pool, "none", "error", False, False),
    "upsample": Kind(lower_upsample, "none", "error", False, True, own_norm_act=True),
    "norm": Kind(lower_norm, "none", "error", False, False),
    "act": Kind(lower_act, "none", "error", False, False),
    "classifier": Kind(lower_classifier, "none", "error", False, False),
}
