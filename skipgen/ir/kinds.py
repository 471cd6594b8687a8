"""One lowering rule per block kind: its output channels, its effect on the spatial size,
its parameter count and the constructor call of its ``skipgen.nn`` class.

The keyword defaults below mirror the signatures in ``skipgen/nn`` (a test checks that they
agree), so a call spells out only what differs from the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skipgen.ir.graph import Call
from skipgen.ir.sizes import Op
from skipgen.spec import models as m

_NORM = {"dims": 2, "norm": "batch", "norm_groups": 32, "norm_eps": 1e-5, "norm_momentum": 0.1}
_SKIP = {"skip": "add", "downsample": False}
DEFAULTS: dict[str, dict[str, Any]] = {
    "ConvNormAct": {
        **{"kernel_size": 3, "stride": 1, "padding": None, "dilation": 1, "groups": 1},
        **{"bias": None, "act": "relu", "preact": False, **_NORM},
    },
    "BasicBlock": {
        **{"stride": 1, "groups": 1, "dilation": 1, "act": "relu", "preact": False},
        **{"drop_path": 0.0, **_SKIP, **_NORM},
    },
    "Bottleneck": {
        **{"stride": 1, "groups": 1, "dilation": 1, "act": "relu", "preact": False},
        **{"drop_path": 0.0, **_SKIP, **_NORM},
    },
    "InvertedResidual": {
        **{"stride": 1, "kernel_size": 3, "se_channels": 0, "act": "relu6"},
        **{"drop_path": 0.0, **_SKIP, **_NORM},
    },
    "DenseBlock": {"bn_size": 4, "drop_rate": 0.0, "act": "relu", **_NORM},
    "Transition": {"pool": "avg", "act": "relu", **_NORM},
    "NormAct": {"act": "relu", **_NORM},
    "UpConv": {
        **{"scale": 2, "mode": "transposed", "kernel_size": None, "bias": None},
        **{**_NORM, "norm": "none", "act": "none"},
    },
    "Shortcut": {"stride": 1, **_SKIP, **_NORM},
    "Classifier": {"dropout": 0.0, "pool": "avg", "dims": 2},
    "projection": {"stride": 1, **_NORM},
}


def call(target: str, *args: Any, **kwargs: Any) -> Call:
    """A call that spells out only the keyword arguments that differ from the defaults."""
    defaults = DEFAULTS.get(target, {})
    kept = tuple(
        (k, v)
        for k, v in kwargs.items()
        if k not in defaults or v != defaults[k] or type(v) is not type(defaults[k])
    )
    return Call(target, args, kept)


@dataclass(frozen=True)
class Resolved:
    """What a block inherits: its norm, activation and conv bias after defaults."""

    dims: int
    norm: m.Norm
    act: str
    bias: bool | None

    def norm_kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"dims": self.dims, "norm": self.norm.type}
        if self.norm.type == "group":
            kw["norm_groups"] = self.norm.groups
        if self.norm.type != "none":
            kw["norm_eps"] = self.norm.eps
        if self.norm.type in ("batch", "instance"):
            kw["norm_momentum"] = self.norm.momentum
        return kw

    def norm_params(self, channels: int) -> int:
        return 0 if self.norm.type == "none" else 2 * channels

    def conv_params(
        self, cin: int, cout: int, k: int, groups: int = 1, bias: bool | None = None
    ) -> int:
        """A conv's parameters; by default it has a bias only when no norm follows it."""
        bias = self.norm.type == "none" if bias is None else bias
        return k**self.dims * (cin // groups) * cout + (cout if bias else 0)

    def has_bias(self, explicit: bool | None = None) -> bool:
        chosen = explicit if explicit is not None else self.bias
        return chosen if chosen is not None else self.norm.type == "none"


@dataclass(frozen=True)
class Body:
    """A lowered block before its skip is decided."""

    out_channels: int
    op: Op  # its effect on one spatial dimension
    params: int
    make: Callable[[str, bool], Call]  # (skip, downsample) -> call; ignored unless builtin
    builtin_skip: bool = False  # the block class combines the shortcut itself
    stride: int = 1  # a projection shortcut needs this stride
    errors: tuple[tuple[str, str, str | None], ...] = ()  # (field, message, hint)
    normed: tuple[int, ...] = ()  # channel counts that a norm layer normalizes
    min_input: int = 0  # the smallest input size the layer accepts


def same_padding(kernel: int, dilation: int = 1) -> int:
    return dilation * (kernel - 1) // 2


def _groups_error(field: str, channels: int, groups: int, what: str) -> tuple[str, str, str]:
    return (
        field,
        f"{what} has {channels} channels, which {groups} groups do not divide",
        "choose channels and groups so that groups divides both in and out channels",
    )


def lower_conv(b: m.Conv, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    pad = b.padding if b.padding is not None else same_padding(b.kernel, b.dilation)
    errors = []
    for ch, what in ((cin, "the input"), (cout, "the output")):
        if ch % b.groups:
            errors.append(_groups_error("groups", ch, b.groups, what))
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
        normed=(cin if b.preact else cout,),
    )


def lower_basic(b: m.Basic, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    errors = []
    for ch, what in ((cin, "the input"), (cout, "the output")):
        if ch % b.groups:
            errors.append(_groups_error("groups", ch, b.groups, what))
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
        (cin if b.preact else cout, cout),
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
    if width % b.groups or width == 0:
        errors.append(_groups_error("groups", width, b.groups, "the 3x3 conv"))
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
        (cin if b.preact else width, width, width if b.preact else cout),
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
    return Body(
        cout, ("conv", b.kernel, stride, pad, 1), params, make, True, stride, normed=(hidden, cout)
    )


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
    normed = (*tuple(cin + i * b.growth for i in range(b.layers)), width)
    return Body(
        cin + b.layers * b.growth, ("conv", 1, 1, 0, 1), params, lambda s, d: c, normed=normed
    )


def lower_transition(b: m.Transition, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    cout = cout or int(cin * b.compression)
    params = r.norm_params(cin) + r.conv_params(cin, cout, 1)
    c = call("Transition", cin, cout, pool=b.pool, act=r.act, **r.norm_kwargs())
    return Body(cout, ("conv", 2, 2, 0, 1), params, lambda s, d: c, stride=2, normed=(cin,))


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
    if transposed and kernel < b.scale:
        errors.append(
            (
                "kernel",
                f"a transposed conv with kernel {kernel} cannot upsample by {b.scale}",
                "use a kernel of at least the scale",
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
    return Body(cout, ("up", b.scale), params, lambda s, d: c, errors=tuple(errors), normed=(cout,))


def bare_conv(
    dims: int, cin: int, cout: int, k: int, stride: int, pad: int, dil: int, groups: int, bias: bool
) -> Call:
    kwargs: list[tuple[str, Any]] = [("kernel_size", k)]
    kwargs += [("stride", stride)] if stride != 1 else []
    kwargs += [("padding", pad)] if pad else []
    kwargs += [("dilation", dil)] if dil != 1 else []
    kwargs += [("groups", groups)] if groups != 1 else []
    kwargs += [("bias", False)] if not bias else []
    return Call(f"nn.Conv{dims}d", (cin, cout), tuple(kwargs))


def bare_norm(r: Resolved, channels: int) -> Call:
    """The same layer that ``norm_layer`` in ``skipgen.nn`` builds."""
    eps = (("eps", r.norm.eps),) if r.norm.eps != 1e-5 else ()
    momentum = (("momentum", r.norm.momentum),) if r.norm.momentum != 0.1 else ()
    if r.norm.type == "batch":
        return Call(f"nn.BatchNorm{r.dims}d", (channels,), (*eps, *momentum))
    if r.norm.type == "group":
        return Call("nn.GroupNorm", (r.norm.groups, channels), eps)
    if r.norm.type == "instance":
        kwargs = (*eps, *momentum, ("affine", True))
        return Call(f"nn.InstanceNorm{r.dims}d", (channels,), kwargs)
    return Call("nn.Identity")


# The same layers that ``act_layer`` in ``skipgen.nn`` builds; never in place, as a bare
# activation's input may be a saved skip or the caller's tensor.
ACTIVATIONS = {
    "relu": "nn.ReLU",
    "relu6": "nn.ReLU6",
    "silu": "nn.SiLU",
    "gelu": "nn.GELU",
    "hardswish": "nn.Hardswish",
    "leaky_relu": "nn.LeakyReLU",
    "sigmoid": "nn.Sigmoid",
    "none": "nn.Identity",
}


def lower_act(b: m.Activation, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    c = Call(ACTIVATIONS[b.act])
    return Body(cin, ("conv", 1, 1, 0, 1), 0, lambda s, d: c)


def lower_norm(b: m.NormAct, r: Resolved, cin: int, cout: int, stride: int) -> Body:
    if r.act == "none":
        bare = bare_norm(r, cin)
        return Body(cin, ("conv", 1, 1, 0, 1), r.norm_params(cin), lambda s, d: bare, normed=(cin,))
    c = call("NormAct", cin, act=r.act, **r.norm_kwargs())
    return Body(cin, ("conv", 1, 1, 0, 1), r.norm_params(cin), lambda s, d: c, normed=(cin,))


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


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10% down (MobileNet)."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def scaled_depth(repeat: int, depth: float) -> int:
    return math.ceil(repeat * depth)
