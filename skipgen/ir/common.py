"""What the lowering rules of the block kinds share.

A :class:`Call` spells out only the keyword arguments that differ from the defaults of the
``skipgen.nn`` signatures, read from their source. :class:`Resolved` holds what a block
inherits from the network's defaults and :class:`Body` what a rule returns. The bare-layer
calls build the same torch layers that ``skipgen.nn``'s helpers build, from the closed list
:data:`TORCH_LAYERS`, and the scaling rules are MobileNet's and EfficientNet's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from skipgen.errors import LayerError
from skipgen.ir.graph import Call, Partial
from skipgen.ir.sizes import Op
from skipgen.language.vocabulary import Act, Norm
from skipgen.library.nn import LayerDefault, library
from skipgen.library.plugins import signature_defaults


def _defaults(target: str) -> dict[str, Any]:
    """The literal keyword defaults of ``target``'s signature, a layer class as a Partial."""
    return {
        k: Partial(d.target) if isinstance(d, LayerDefault) else d
        for k, d in signature_defaults(target).items()
    }


# skipgen.nn never changes while skipgen runs: its blocks' defaults are read once each (a
# plugin's block is not cached: it may be loaded after a first lookup of its name).
_builtin_defaults = cache(_defaults)


def call(target: str, *args: Any, **kwargs: Any) -> Call:
    """A call that spells out only the keyword arguments that differ from the defaults."""
    builtin = target in library().definitions
    defaults = _builtin_defaults(target) if builtin else _defaults(target)
    kept = tuple(
        (k, v)
        for k, v in kwargs.items()
        if k not in defaults or v != defaults[k] or type(v) is not type(defaults[k])
    )
    return Call(target, args, kept)


def with_kwargs(made: Call, **kwargs: Any) -> Call:
    """``made`` with more keyword arguments, those equal to the defaults left out."""
    return Call(made.target, made.args, made.kwargs + call(made.target, **kwargs).kwargs)


@dataclass(frozen=True)
class Resolved:
    """What a block inherits: its norm, activation and conv bias after defaults.

    ``act`` is the activation as the blocks take it: its name, or for an activation with
    parameters, the layer class they call with no arguments (``partial(nn.LeakyReLU, 0.1)``);
    ``act_spec`` is what the spec wrote.
    """

    dims: int
    norm: Norm
    act: str | Partial
    bias: bool | None
    act_spec: Act | None = None

    @classmethod
    def of(cls, dims: int, norm: Norm, act: Act, bias: bool | None) -> Resolved:
        """What a block inherits, from the norm and activation the spec gives it."""
        return cls(dims, norm, act_argument(act), bias, act)

    @property
    def per_channel_act(self) -> bool:
        """Whether the activation learns a slope per channel: it needs the channel count."""
        return self.act_spec is not None and self.act_spec.per_channel

    def act_at(self, channels: int) -> str | Partial:
        """The activation as the blocks take it, for activations that see ``channels``."""
        return act_argument(self.act_spec, channels) if self.act_spec else self.act

    def act_params(self, channels: int, layers: int = 1) -> int:
        """The parameters of ``layers`` activation layers over ``channels`` channels."""
        name = self.act if isinstance(self.act, str) else "none"
        spec = self.act_spec or Act.model_validate({"type": name})
        return layers * act_params(spec, channels)

    def norm_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that give a ``skipgen.nn`` block this norm."""
        return {"dims": self.dims, "norm_layer": self.norm_layer()}

    def norm_layer(self) -> Partial:
        """The norm as the blocks take it: a layer class, called with the channel count."""
        norm = self.norm
        eps = (("eps", norm.eps),) if norm.eps != 1e-5 else ()
        torch_affine = norm.type != "instance"  # torch's default for each norm
        affine = (("affine", norm.has_affine),) if norm.has_affine != torch_affine else ()
        if norm.type == "batch":
            given = norm.momentum is not None and norm.momentum != 0.1
            momentum = (("momentum", norm.momentum),) if given else ()
            return Partial(f"nn.BatchNorm{self.dims}d", (), (*eps, *momentum, *affine))
        if norm.type == "group":
            return Partial("nn.GroupNorm", (norm.groups,), (*eps, *affine))
        if norm.type == "instance":
            return Partial(f"nn.InstanceNorm{self.dims}d", (), (*eps, *affine))
        if norm.type == "layer":
            return Partial("LayerNormNd", (), (*eps, *affine))
        return Partial("nn.Identity")

    def norm_params(self, channels: int) -> int:
        return 2 * channels if self.norm.has_affine else 0

    def conv_params(
        self, cin: int, cout: int, k: int, groups: int = 1, bias: bool | None = None
    ) -> int:
        """A conv's parameters; by default it has a bias only when no norm follows it."""
        bias = self.norm.type == "none" if bias is None else bias
        return k**self.dims * (cin // groups) * cout + (cout if bias else 0)

    def has_bias(self, explicit: bool | None = None) -> bool:
        chosen = explicit if explicit is not None else self.bias
        return chosen if chosen is not None else self.norm.type == "none"


@dataclass(frozen=True, kw_only=True)
class Body:
    """A lowered block before its skip is decided."""

    out_channels: int
    op: Op  # its effect on one spatial dimension
    params: int
    make: Callable[[str, bool], Call]  # (skip, downsample) -> call; ignored unless builtin
    builtin_skip: bool = False  # the block class combines the shortcut itself
    stride: int = 1  # a projection shortcut needs this stride
    errors: tuple[LayerError, ...] = ()  # why the layer cannot be built
    # (channels, "in" or "out") of each norm layer: its channels and which size it sees
    normed: tuple[tuple[int, str], ...] = ()
    min_input: int = 0  # the smallest input size the layer accepts

    def layer_errors(self) -> tuple[LayerError, ...]:
        """The errors to report at the layer, each located at its field."""
        return self.errors


def same_padding(kernel: int, dilation: int = 1) -> int:
    return dilation * (kernel - 1) // 2


def groups_errors(cin: int, cout: int, groups: int) -> tuple[LayerError, ...]:
    """Why ``groups`` cannot split the ``cin`` input or ``cout`` output channels, if so."""
    return tuple(
        LayerError(
            field="groups",
            message=f"{what} has {channels} channels, which {groups} groups do not divide",
            hint="choose channels and groups so that groups divides both in and out channels",
        )
        for channels, what in ((cin, "the input"), (cout, "the output"))
        if channels % groups
    )


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
    """The same layer that the blocks build from ``norm_layer`` (``nn.Identity()`` for none)."""
    factory = r.norm_layer()
    if factory.target == "nn.Identity":
        return Call("nn.Identity")
    return Call(factory.target, (*factory.args, channels), factory.kwargs)


# The same layers that ``act_layer`` in ``skipgen.nn`` builds; never in place, as a bare
# activation's input may be a saved skip or the caller's tensor.
ACTIVATIONS = {
    "relu": "nn.ReLU",
    "relu6": "nn.ReLU6",
    "silu": "nn.SiLU",
    "gelu": "nn.GELU",
    "hardswish": "nn.Hardswish",
    "hardsigmoid": "nn.Hardsigmoid",
    "leaky_relu": "nn.LeakyReLU",
    "prelu": "nn.PReLU",
    "sigmoid": "nn.Sigmoid",
    "none": "nn.Identity",
}


def act_argument(act: Act, channels: int = 0) -> str | Partial:
    """An activation as the ``act`` argument of the blocks: its name, or the layer class
    that ``act_layer`` calls with no arguments; a per-channel PReLU over ``channels``."""
    if act.type == "leaky_relu" and act.slope is not None:
        return Partial("nn.LeakyReLU", (), (("negative_slope", act.slope),))
    if act.type == "prelu" and act.per_channel:
        return Partial("nn.PReLU", (), (("num_parameters", channels),))
    return act.type


def act_call(act: Act, channels: int) -> Call:
    """The bare activation layer over ``channels`` channels (never in place, as the input
    of a bare activation may be a saved skip or the caller's tensor)."""
    argument = act_argument(act, channels)
    if isinstance(argument, Partial):
        return Call(argument.target, argument.args, argument.kwargs)
    return Call(ACTIVATIONS[argument])


def act_params(act: Act, channels: int) -> int:
    """The learned parameters of one activation layer over ``channels`` channels: PReLU's
    slope, one or one per channel."""
    if act.type != "prelu":
        return 0
    return channels if act.per_channel else 1


# The torch.nn layers a call may name besides the skipgen.nn blocks: the runtime backend
# builds and the emitter writes these and no others.
TORCH_LAYERS = frozenset(
    [
        *(f"nn.{layer}{dims}d" for dims in (1, 2, 3) for layer in ("Conv", "BatchNorm")),
        *(f"nn.{layer}{dims}d" for dims in (1, 2, 3) for layer in ("MaxPool", "AvgPool")),
        *(f"nn.Adaptive{pool}Pool{dims}d" for dims in (1, 2, 3) for pool in ("Avg", "Max")),
        *(f"nn.InstanceNorm{dims}d" for dims in (1, 2, 3)),
        "nn.GroupNorm",
        "nn.Upsample",
        "nn.PixelShuffle",
        "nn.PixelUnshuffle",
        "nn.Flatten",
        "nn.Linear",
        "nn.LayerNorm",
        "nn.Dropout",
        *(f"nn.Dropout{dims}d" for dims in (1, 2, 3)),
        *ACTIVATIONS.values(),
    ]
)


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10% down (MobileNet)."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def scaled_depth(repeat: int, depth: float, most: int | None = None) -> int:
    """``repeat`` times the depth multiplier, rounded up (EfficientNet); at most ``most``."""
    scaled = repeat * depth
    if most is not None and not scaled <= most:  # also for an infinite or NaN product
        return most
    return math.ceil(scaled)
