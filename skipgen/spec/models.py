"""The spec language: pydantic models, one per block kind, tagged by ``type``.

Every model forbids unknown keys and validates strictly: a number must be written as a
number (``"64"`` is a string, ``true`` is not 1), floats must be finite, and every count and
size is bounded by :data:`skipgen.spec.limits.LIMITS`. Strings that reach generated source
(``name``, ``id``, the network's ``name``) must be ASCII Python identifiers that are not
keywords, builtins or names the generated module uses.

Each model's docstring is what the JSON Schema (and so an editor's hover) says about it; a
block kind's docstring also describes its ``type`` value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)
from pydantic_core import PydanticCustomError, PydanticKnownError

from skipgen.spec.limits import LIMITS, bounded
from skipgen.spec.reserved import RESERVED_NAMES as RESERVED_NAMES  # re-exported
from skipgen.spec.reserved import name_problem

Act = Literal["relu", "relu6", "silu", "gelu", "hardswish", "leaky_relu", "sigmoid", "none"]
NormKind = Literal["batch", "group", "instance", "none"]
SkipMode = Literal["add", "concat", "none"]
OnMismatch = Literal["project", "drop", "error"]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]

_ACT = "activation: relu, relu6, silu, gelu, hardswish, leaky_relu, sigmoid or none"
_STOCHASTIC_DEPTH = (
    "drop probability of the residual branch while training; "
    "default: from defaults.stochastic_depth"
)


def check_identifier(value: str, what: str) -> str:
    """``value`` if it can be the ``what`` (a name or id) in generated source."""
    problem = name_problem(value, what)
    if problem is not None:
        message, hint = problem
        raise PydanticCustomError("identifier", "{message}", {"message": message, "hint": hint})
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, allow_inf_nan=False
    )


class Norm(_Strict):
    """A normalization layer: `batch`, `group` (with `groups`), `instance` or `none`."""

    type: NormKind = Field(
        description="batch: BatchNorm, group: GroupNorm, instance: InstanceNorm, none: no norm"
    )
    groups: int = bounded("groups", 32, "group count for group norm; must divide the channels")
    eps: float = Field(1e-5, gt=0.0, le=1.0, description="added to the variance for stability")
    momentum: float = Field(
        0.1, gt=0.0, le=1.0, description="running statistics update rate (batch, instance norm)"
    )


def _norm_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


NormSpec = Annotated[Norm, BeforeValidator(_norm_shorthand, json_schema_input_type=NormKind | Norm)]


class Skip(_Strict):
    """How a block's output is combined with a shortcut."""

    mode: SkipMode = Field(
        description="add: residual sum, concat: channel concatenation (dense), none: no skip"
    )
    from_: str | None = Field(
        None,
        alias="from",
        description="take the shortcut from this earlier node (its id or name) "
        "instead of the block's input",
    )


def _skip_shorthand(value: Any) -> Any:
    return {"mode": value} if isinstance(value, str) else value


SkipSpec = Annotated[Skip, BeforeValidator(_skip_shorthand, json_schema_input_type=SkipMode | Skip)]


def _size_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _exact_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticKnownError("int_type")  # a Literal alone would take true as 1
    return value


Extent = Annotated[int, Field(ge=1, le=LIMITS["size"])]


class Input(_Strict):
    """What the network reads: channels, spatial dimensions and, optionally, the size."""

    channels: int = bounded("channels", description="input channels (3 for RGB images)")
    dims: Annotated[Literal[1, 2, 3], BeforeValidator(_exact_int)] = Field(
        2, description="spatial dimensions: 1 for signals, 2 for images, 3 for volumes"
    )
    size: Annotated[
        list[Extent] | None,
        BeforeValidator(_size_shorthand, json_schema_input_type=Extent | list[Extent] | None),
    ] = Field(
        None,
        description="spatial size: one number for every dimension, or one each; "
        "when given, every layer's output size is checked",
    )


class Defaults(_Strict):
    """Settings for every layer that does not set its own."""

    norm: NormSpec = Field(Norm(type="batch"), description="normalization of every layer")
    act: Act = Field("relu", description=_ACT)
    bias: bool | None = Field(None, description="conv bias; by default only where no norm follows")
    stochastic_depth: Probability = Field(
        0.0,
        description="rate for the residual blocks: of n blocks, the i-th (from 0) drops its "
        "residual branch with probability rate * i / n while training (EfficientNet's rule)",
    )


class Scaling(_Strict):
    """EfficientNet-style compound scaling of channels and repeats."""

    width: float = Field(
        1.0, gt=0.0, le=LIMITS["width"], description="channel multiplier (EfficientNet's width)"
    )
    depth: float = Field(
        1.0, gt=0.0, le=LIMITS["depth"], description="repeat multiplier, rounded up"
    )
    divisor: int = bounded("divisor", 8, "scaled channels are rounded to a multiple of this")


class _Block(_Strict):
    name: str | None = Field(
        None, description="attribute name of the module (its state_dict prefix)"
    )
    id: str | None = Field(
        None, description="handle for `skip: {from: ...}` references from later layers"
    )
    repeat: int = bounded("repeat", 1, "how many times in a row; stride applies to the first")
    skip: SkipSpec | None = Field(
        None, description="add, concat or none, or {mode, from} to take an earlier output"
    )
    on_mismatch: OnMismatch | None = Field(
        None,
        description="when the shortcut's shape differs from the output's: project (1x1 conv), "
        "drop the skip, or error; default: the kind's",
    )
    scale_width: bool = Field(True, description="whether scaling.width applies to this layer")
    scale_depth: bool | None = Field(
        None, description="whether scaling.depth applies; default: for the residual kinds"
    )

    model_config = ConfigDict(json_schema_extra=lambda schema: _describe_type(schema))

    @field_validator("name", "id")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value, info.field_name)


def _describe_type(schema: dict[str, Any]) -> None:
    """A kind's `type` value says what the kind is (its docstring), for editors' hovers."""
    description = " ".join(schema.get("description", "").split())
    schema["description"] = schema["properties"]["type"]["description"] = description


class _NormAct(_Block):
    norm: NormSpec | None = Field(
        None,
        description="batch, group, instance or none, or {type, groups, eps, momentum}; "
        "default: defaults.norm",
    )
    act: Act | None = Field(None, description=_ACT + "; default: defaults.act")


def _channels(description: str = "output channels") -> Any:
    return bounded("channels", description=description)


class Conv(_NormAct):
    """conv → norm → act (`preact: true`: norm → act → conv); with `norm: none, act: none`,
    the bare conv layer"""

    type: Literal["conv"]
    channels: int = _channels()
    kernel: int = bounded("kernel", 3, "kernel size")
    stride: int = bounded("stride", 1, "step of the kernel: 2 halves the size")
    padding: int | None = bounded(
        "padding", None, "zeros added on each side; default: keeps the size at stride 1", 0
    )
    groups: int = bounded("groups", 1, "grouped conv: input and output channels divide by it")
    dilation: int = bounded("dilation", 1, "spacing between kernel taps")
    bias: bool | None = Field(None, description="conv bias; default: only when no norm follows")
    preact: bool = Field(False, description="norm → act → conv instead of conv → norm → act")


class Basic(_NormAct):
    """ResNet basic block"""

    type: Literal["basic"]
    channels: int = _channels()
    stride: int = bounded("stride", 1, "stride of the first conv (and of the projection)")
    groups: int = bounded("groups", 1, "groups of both convs")
    dilation: int = bounded("dilation", 1, "dilation of both convs")
    preact: bool = Field(False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(None, description=_STOCHASTIC_DEPTH)


class Bottleneck(_NormAct):
    """ResNet bottleneck; ResNeXt/Wide ResNet via `groups`, `base_width`"""

    type: Literal["bottleneck"]
    channels: int = _channels("output channels (torchvision: planes * expansion)")
    expansion: int = bounded("expansion", 4, "output channels over the inner width (planes)")
    stride: int = bounded("stride", 1, "stride of the 3x3 conv (and of the projection)")
    groups: int = bounded("groups", 1, "groups of the 3x3 conv (ResNeXt's cardinality)")
    base_width: int = bounded("base_width", 64, "ResNeXt/Wide ResNet width per group")
    dilation: int = bounded("dilation", 1, "dilation of the 3x3 conv")
    preact: bool = Field(False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(None, description=_STOCHASTIC_DEPTH)


class InvertedResidual(_NormAct):
    """MobileNetV2/EfficientNet MBConv; linear bottleneck; no expand conv at expansion 1"""

    type: Literal["inverted_residual"]
    channels: int = _channels()
    expansion: float = Field(
        6.0, ge=1.0, le=LIMITS["expansion"], description="inner width over the input channels"
    )
    kernel: int = bounded("kernel", 3, "kernel size of the depthwise conv")
    stride: int = bounded("stride", 1, "stride of the depthwise conv")
    se_ratio: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="squeeze-and-excitation channels as a fraction of the input channels",
    )
    stochastic_depth: Probability | None = Field(None, description=_STOCHASTIC_DEPTH)


class Dense(_NormAct):
    """DenseNet dense block (pre-activation, concatenating)"""

    type: Literal["dense"]
    layers: int = bounded("layers", description="dense layers in the block")
    growth: int = bounded("growth", description="channels each dense layer adds")
    bn_size: int = bounded("bn_size", 4, "bottleneck width as a multiple of growth")
    dropout: Probability = Field(0.0, description="dropout rate after each dense layer")


class Transition(_NormAct):
    """DenseNet transition: norm → act → 1x1 conv → 2x2 pool"""

    type: Literal["transition"]
    compression: float = Field(
        0.5, gt=0.0, le=1.0, description="output channels as a fraction of the input channels"
    )
    channels: int | None = bounded("channels", None, "default: input channels * compression")
    pool: Literal["avg", "max"] = Field("avg", description="avg or max pooling")


class MaxPool(_Block):
    """max pooling (padding defaults to `(kernel - 1) // 2`)"""

    type: Literal["maxpool"]
    kernel: int = bounded("kernel", 2, "window size")
    stride: int | None = bounded("stride", None, "step of the window; default: the kernel size")
    padding: int | None = bounded(
        "padding", None, "padding on each side; default: (kernel - 1) // 2", 0
    )


class AvgPool(MaxPool):
    """average pooling (padding defaults to `(kernel - 1) // 2`)"""

    type: Literal["avgpool"]  # type: ignore[assignment]


class GlobalPool(_Block):
    """adaptive pooling to size 1"""

    type: Literal["global_pool"]
    mode: Literal["avg", "max"] = Field("avg", description="avg or max pooling")


class Upsample(_NormAct):
    """transposed conv, or `nearest`/`bilinear` interpolation then a conv; no norm or act
    unless set on the block"""

    type: Literal["upsample"]
    channels: int = _channels()
    mode: Literal["transposed", "nearest", "bilinear"] = Field(
        "transposed", description="transposed conv, or interpolation then a conv"
    )
    scale: int = bounded("scale", 2, "factor by which every spatial dimension grows")
    kernel: int | None = bounded("kernel", None, "kernel size; default: scale (transposed), 3")
    bias: bool | None = Field(None, description="conv bias; default: only when no norm follows")


class NormAct(_NormAct):
    """a norm and an activation alone (DenseNet's final norm); with `act: none`, the bare
    norm layer"""

    type: Literal["norm"]


class Activation(_Block):
    """an activation alone"""

    type: Literal["act"]
    act: Act = Field(description=_ACT)


class Classifier(_Block):
    """global pool → dropout → linear; must come last"""

    type: Literal["classifier"]
    classes: int = bounded("classes", description="output classes (features of the linear layer)")
    dropout: Probability = Field(0.0, description="dropout rate before the linear layer")
    pool: Literal["avg", "max"] = Field("avg", description="avg or max global pooling")


BLOCK_MODELS: tuple[type[_Block], ...] = (
    Conv,
    Basic,
    Bottleneck,
    InvertedResidual,
    Dense,
    Transition,
    MaxPool,
    AvgPool,
    GlobalPool,
    Upsample,
    NormAct,
    Activation,
    Classifier,
)
KINDS: dict[str, type[_Block]] = {
    m.model_fields["type"].annotation.__args__[0]: m  # type: ignore[union-attr]
    for m in BLOCK_MODELS
}

Block = Annotated[
    Conv
    | Basic
    | Bottleneck
    | InvertedResidual
    | Dense
    | Transition
    | MaxPool
    | AvgPool
    | GlobalPool
    | Upsample
    | NormAct
    | Activation
    | Classifier,
    Field(discriminator="type"),
]


class Spec(_Strict):
    """A network: its class name, input, defaults, scaling and layers, in order."""

    name: str = Field(description="class name of the network (an ASCII Python identifier)")
    description: str | None = Field(None, description="free text about the network")
    input: Input = Field(description="what the network reads")
    defaults: Defaults = Field(Defaults(), description="settings for every layer")
    scaling: Scaling = Field(Scaling(), description="width and depth multipliers")
    layers: list[Block] = Field(min_length=1, description="the blocks, from input to output")

    # Where each value came from, for errors found after validation (set by load_spec).
    _positions: Any = PrivateAttr(default=None)
    _text: str | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_identifier(value, "name")
