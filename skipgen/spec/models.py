"""The spec language: pydantic models, one per block kind, tagged by ``type``.

Every model forbids unknown keys. Strings that reach generated source (``name``, ``id``,
the network's ``name``) must be Python identifiers that are not keywords.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    field_validator,
)

from skipgen.spec.reserved import RESERVED_NAMES

Act = Literal["relu", "relu6", "silu", "gelu", "hardswish", "leaky_relu", "sigmoid", "none"]
NormKind = Literal["batch", "group", "instance", "none"]
SkipMode = Literal["add", "concat", "none"]
OnMismatch = Literal["project", "drop", "error"]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]


def check_identifier(value: str, what: str) -> str:
    if not value.isidentifier():
        raise ValueError(f"{what} {value!r} is not a Python identifier (letters, digits, _)")
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        raise ValueError(f"{what} {value!r} is a Python keyword")
    if value.startswith("_"):
        raise ValueError(f"{what} {value!r} starts with '_': such names are private in Python")
    if value in RESERVED_NAMES:
        raise ValueError(f"{what} {value!r} is reserved by the generated module")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Norm(_Strict):
    """A normalization layer: ``batch``, ``group`` (with ``groups``), ``instance`` or ``none``."""

    type: NormKind
    groups: PositiveInt = Field(32, description="group count for group norm")
    eps: PositiveFloat = Field(1e-5, description="added to the variance for stability")
    momentum: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.1, description="running statistics update rate (batch and instance norm)"
    )


def _norm_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


NormSpec = Annotated[Norm, BeforeValidator(_norm_shorthand, json_schema_input_type=NormKind | Norm)]


class Skip(_Strict):
    """How a block's output is combined with a shortcut."""

    mode: SkipMode
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


class Input(_Strict):
    channels: PositiveInt
    dims: Literal[1, 2, 3] = Field(2, description="1: signals, 2: images, 3: volumes")
    size: Annotated[
        list[PositiveInt] | None,
        BeforeValidator(_size_shorthand, json_schema_input_type=PositiveInt | list[PositiveInt]),
    ] = Field(None, description="spatial size: one number for every dimension, or one each")


class Defaults(_Strict):
    norm: NormSpec = Norm(type="batch")
    act: Act = "relu"
    bias: bool | None = Field(None, description="conv bias; by default only where no norm follows")
    stochastic_depth: Probability = Field(
        0.0,
        description="rate for the residual blocks: of n blocks, the i-th (from 0) drops its "
        "residual branch with probability rate * i / n while training (EfficientNet's rule)",
    )


class Scaling(_Strict):
    width: PositiveFloat = Field(1.0, description="channel multiplier (EfficientNet's width)")
    depth: PositiveFloat = Field(1.0, description="repeat multiplier, rounded up")
    divisor: PositiveInt = Field(8, description="scaled channels are rounded to a multiple")


class _Block(_Strict):
    name: str | None = Field(None, description="attribute name of the module")
    id: str | None = Field(None, description="handle for `skip: {from: ...}` references")
    repeat: PositiveInt = Field(1, description="stride applies to the first repeat only")
    skip: SkipSpec | None = None
    on_mismatch: OnMismatch | None = Field(
        None, description="what to do when the shortcut's shape differs from the output's"
    )
    scale_width: bool = True
    scale_depth: bool | None = None

    @field_validator("name", "id")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value, info.field_name)


class _NormAct(_Block):
    norm: NormSpec | None = None
    act: Act | None = None


class Conv(_NormAct):
    """conv → norm → act (or norm → act → conv with ``preact``).

    With ``norm: none`` and ``act: none`` it is a bare convolution module.
    """

    type: Literal["conv"]
    channels: PositiveInt
    kernel: PositiveInt = 3
    stride: PositiveInt = 1
    padding: NonNegativeInt | None = Field(None, description="default: keeps the size at stride 1")
    groups: PositiveInt = 1
    dilation: PositiveInt = 1
    bias: bool | None = None
    preact: bool = False


class Basic(_NormAct):
    """ResNet's basic block: two 3x3 convs and a residual add."""

    type: Literal["basic"]
    channels: PositiveInt
    stride: PositiveInt = 1
    groups: PositiveInt = 1
    dilation: PositiveInt = 1
    preact: bool = False
    stochastic_depth: Probability | None = Field(
        None,
        description="drop probability of the residual branch while training; "
        "default: from defaults.stochastic_depth",
    )


class Bottleneck(_NormAct):
    """ResNet's bottleneck: 1x1 → 3x3 (strided, grouped) → 1x1 and a residual add."""

    type: Literal["bottleneck"]
    channels: PositiveInt = Field(description="output channels (torchvision: planes * expansion)")
    expansion: PositiveInt = 4
    stride: PositiveInt = 1
    groups: PositiveInt = 1
    base_width: PositiveInt = Field(64, description="ResNeXt/Wide ResNet width per group")
    dilation: PositiveInt = 1
    preact: bool = False
    stochastic_depth: Probability | None = Field(
        None,
        description="drop probability of the residual branch while training; "
        "default: from defaults.stochastic_depth",
    )


class InvertedResidual(_NormAct):
    """MobileNetV2/EfficientNet MBConv: expand 1x1 → depthwise → (SE) → linear 1x1."""

    type: Literal["inverted_residual"]
    channels: PositiveInt
    expansion: Annotated[float, Field(ge=1.0)] = 6.0
    kernel: PositiveInt = 3
    stride: PositiveInt = 1
    se_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="squeeze-and-excitation channels as a fraction of the input channels"
    )
    stochastic_depth: Probability | None = Field(
        None,
        description="drop probability of the residual branch while training; "
        "default: from defaults.stochastic_depth",
    )


class Dense(_NormAct):
    """DenseNet's dense block: pre-activation layers, each concatenated to its input."""

    type: Literal["dense"]
    layers: PositiveInt
    growth: PositiveInt
    bn_size: PositiveInt = Field(4, description="bottleneck width as a multiple of growth")
    dropout: Probability = 0.0


class Transition(_NormAct):
    """DenseNet's transition: norm → act → 1x1 conv → 2x2 pool."""

    type: Literal["transition"]
    compression: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    channels: PositiveInt | None = Field(None, description="default: input channels * compression")
    pool: Literal["avg", "max"] = "avg"


class MaxPool(_Block):
    type: Literal["maxpool"]
    kernel: PositiveInt = 2
    stride: PositiveInt | None = Field(None, description="default: the kernel size")
    padding: NonNegativeInt | None = Field(None, description="default: (kernel - 1) // 2")


class AvgPool(MaxPool):
    type: Literal["avgpool"]  # type: ignore[assignment]


class GlobalPool(_Block):
    type: Literal["global_pool"]
    mode: Literal["avg", "max"] = "avg"


class Upsample(_NormAct):
    """Transposed conv, or nearest/bilinear interpolation then a conv.

    Unlike other kinds it has no norm or activation unless the block sets them.
    """

    type: Literal["upsample"]
    channels: PositiveInt
    mode: Literal["transposed", "nearest", "bilinear"] = "transposed"
    scale: PositiveInt = 2
    kernel: PositiveInt | None = Field(None, description="default: scale (transposed), 3")
    bias: bool | None = None


class NormAct(_NormAct):
    """A norm and an activation on their own (DenseNet's final norm5 + relu).

    With ``act: none`` it is a bare normalization module.
    """

    type: Literal["norm"]


class Activation(_Block):
    """An activation on its own (torchvision's ``relu`` after a bare ``bn1``)."""

    type: Literal["act"]
    act: Act


class Classifier(_Block):
    """Global pool → dropout → linear. Must be the last layer."""

    type: Literal["classifier"]
    classes: PositiveInt
    dropout: Probability = 0.0
    pool: Literal["avg", "max"] = "avg"


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
    """A whole network."""

    name: str = Field(description="class name of the network (a Python identifier)")
    description: str | None = None
    input: Input
    defaults: Defaults = Defaults()
    scaling: Scaling = Scaling()
    layers: list[Block] = Field(min_length=1)

    # Where each value came from, for errors found after validation (set by load_spec).
    _positions: Any = PrivateAttr(default=None)
    _text: str | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_identifier(value, "name")
