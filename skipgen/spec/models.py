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
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from skipgen.spec.limits import (
    BaseWidth,
    BnSize,
    Channels,
    Classes,
    DenseLayers,
    Depth,
    Dilation,
    Divisor,
    Expansion,
    ExpansionRatio,
    Extent,
    Groups,
    Growth,
    Kernel,
    Padding,
    Repeat,
    Scale,
    Stride,
    Width,
)
from skipgen.spec.reserved import RESERVED_NAMES as RESERVED_NAMES  # re-exported
from skipgen.spec.vocabulary import (
    ACT_DESCRIPTION,
    IDENTIFIER_SCHEMA,
    STOCHASTIC_DEPTH_DESCRIPTION,
    Act,
    NormSpec,
    OnMismatch,
    Probability,
    SkipSpec,
    StrictModel,
    check_identifier,
)
from skipgen.spec.vocabulary import Norm as Norm  # re-exported
from skipgen.spec.vocabulary import Skip as Skip  # re-exported


def _size_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


class Input(StrictModel):
    """What the network reads: channels, spatial dimensions and, optionally, the size."""

    channels: Channels = Field(description="input channels (3 for RGB images)")
    dims: int = Field(
        default=2,
        ge=1,
        le=3,
        description="spatial dimensions: 1 for signals, 2 for images, 3 for volumes",
    )
    size: Annotated[
        list[Extent] | None,
        BeforeValidator(_size_shorthand, json_schema_input_type=Extent | list[Extent] | None),
    ] = Field(
        default=None,
        description="spatial size: one number for every dimension, or one each; "
        "when given, every layer's output size is checked",
    )


class Defaults(StrictModel):
    """Settings for every layer that does not set its own."""

    norm: NormSpec = Field(default=Norm(type="batch"), description="normalization of every layer")
    act: Act = Field(default="relu", description=ACT_DESCRIPTION)
    bias: bool | None = Field(
        default=None, description="conv bias; by default only where no norm follows"
    )
    stochastic_depth: Probability = Field(
        default=0.0,
        description="rate for the residual blocks: of n blocks, the i-th (from 0) drops its "
        "residual branch with probability rate * i / n while training (EfficientNet's rule)",
    )


class Scaling(StrictModel):
    """EfficientNet-style compound scaling of channels and repeats."""

    width: Width = Field(default=1.0, description="channel multiplier (EfficientNet's width)")
    depth: Depth = Field(default=1.0, description="repeat multiplier, rounded up")
    divisor: Divisor = Field(
        default=8, description="scaled channels are rounded to a multiple of this"
    )


class _Block(StrictModel):
    name: str | None = Field(
        default=None,
        description="attribute name of the module (its state_dict prefix)",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    id: str | None = Field(
        default=None,
        description="handle for `skip: {from: ...}` references from later layers",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    repeat: Repeat = Field(
        default=1, description="how many times in a row; stride applies to the first"
    )
    skip: SkipSpec | None = Field(
        default=None, description="add, concat or none, or {mode, from} to take an earlier output"
    )
    on_mismatch: OnMismatch | None = Field(
        default=None,
        description="when the shortcut's shape differs from the output's: project (1x1 conv), "
        "drop the skip, or error; default: the kind's",
    )
    scale_width: bool = Field(
        default=True, description="whether scaling.width applies to this layer"
    )
    scale_depth: bool | None = Field(
        default=None, description="whether scaling.depth applies; default: for the residual kinds"
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
        default=None,
        description="batch, group, instance or none, or {type, groups, eps, momentum}; "
        "default: defaults.norm",
    )
    act: Act | None = Field(default=None, description=ACT_DESCRIPTION + "; default: defaults.act")


class Conv(_NormAct):
    """conv → norm → act (`preact: true`: norm → act → conv); with `norm: none, act: none`,
    the bare conv layer"""

    type: Literal["conv"]
    channels: Channels = Field(description="output channels")
    kernel: Kernel = Field(default=3, description="kernel size")
    stride: Stride = Field(default=1, description="step of the kernel: 2 halves the size")
    padding: Padding | None = Field(
        default=None, description="zeros added on each side; default: keeps the size at stride 1"
    )
    groups: Groups = Field(
        default=1, description="grouped conv: input and output channels divide by it"
    )
    dilation: Dilation = Field(default=1, description="spacing between kernel taps")
    bias: bool | None = Field(
        default=None, description="conv bias; default: only when no norm follows"
    )
    preact: bool = Field(
        default=False, description="norm → act → conv instead of conv → norm → act"
    )


class Basic(_NormAct):
    """ResNet basic block"""

    type: Literal["basic"]
    channels: Channels = Field(description="output channels")
    stride: Stride = Field(
        default=1, description="stride of the first conv (and of the projection)"
    )
    groups: Groups = Field(default=1, description="groups of both convs")
    dilation: Dilation = Field(default=1, description="dilation of both convs")
    preact: bool = Field(default=False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )


class Bottleneck(_NormAct):
    """ResNet bottleneck; ResNeXt/Wide ResNet via `groups`, `base_width`"""

    type: Literal["bottleneck"]
    channels: Channels = Field(description="output channels (torchvision: planes * expansion)")
    expansion: Expansion = Field(
        default=4, description="output channels over the inner width (planes)"
    )
    stride: Stride = Field(default=1, description="stride of the 3x3 conv (and of the projection)")
    groups: Groups = Field(default=1, description="groups of the 3x3 conv (ResNeXt's cardinality)")
    base_width: BaseWidth = Field(default=64, description="ResNeXt/Wide ResNet width per group")
    dilation: Dilation = Field(default=1, description="dilation of the 3x3 conv")
    preact: bool = Field(default=False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )


class InvertedResidual(_NormAct):
    """MobileNetV2/EfficientNet MBConv; linear bottleneck; no expand conv at expansion 1"""

    type: Literal["inverted_residual"]
    channels: Channels = Field(description="output channels")
    expansion: ExpansionRatio = Field(
        default=6.0, description="inner width over the input channels"
    )
    kernel: Kernel = Field(default=3, description="kernel size of the depthwise conv")
    stride: Stride = Field(default=1, description="stride of the depthwise conv")
    se_ratio: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="squeeze-and-excitation channels as a fraction of the input channels",
    )
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )


class Dense(_NormAct):
    """DenseNet dense block (pre-activation, concatenating)"""

    type: Literal["dense"]
    layers: DenseLayers = Field(description="dense layers in the block")
    growth: Growth = Field(description="channels each dense layer adds")
    bn_size: BnSize = Field(default=4, description="bottleneck width as a multiple of growth")
    dropout: Probability = Field(default=0.0, description="dropout rate after each dense layer")


class Transition(_NormAct):
    """DenseNet transition: norm → act → 1x1 conv → 2x2 pool"""

    type: Literal["transition"]
    compression: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="output channels as a fraction of the input channels",
    )
    channels: Channels | None = Field(
        default=None, description="default: input channels * compression"
    )
    pool: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")


class MaxPool(_Block):
    """max pooling (padding defaults to `(kernel - 1) // 2`)"""

    type: Literal["maxpool"]
    kernel: Kernel = Field(default=2, description="window size")
    stride: Stride | None = Field(
        default=None, description="step of the window; default: the kernel size"
    )
    padding: Padding | None = Field(
        default=None, description="padding on each side; default: (kernel - 1) // 2"
    )


class AvgPool(MaxPool):
    """average pooling (padding defaults to `(kernel - 1) // 2`)"""

    type: Literal["avgpool"]  # type: ignore[assignment]


class GlobalPool(_Block):
    """adaptive pooling to size 1"""

    type: Literal["global_pool"]
    mode: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")


class Upsample(_NormAct):
    """transposed conv, or `nearest`/`bilinear` interpolation then a conv; no norm or act
    unless set on the block"""

    type: Literal["upsample"]
    channels: Channels = Field(description="output channels")
    mode: Literal["transposed", "nearest", "bilinear"] = Field(
        default="transposed", description="transposed conv, or interpolation then a conv"
    )
    scale: Scale = Field(default=2, description="factor by which every spatial dimension grows")
    kernel: Kernel | None = Field(
        default=None, description="kernel size; default: scale (transposed), 3"
    )
    bias: bool | None = Field(
        default=None, description="conv bias; default: only when no norm follows"
    )


class NormAct(_NormAct):
    """a norm and an activation alone (DenseNet's final norm); with `act: none`, the bare
    norm layer"""

    type: Literal["norm"]


class Activation(_Block):
    """an activation alone"""

    type: Literal["act"]
    act: Act = Field(description=ACT_DESCRIPTION)


class Classifier(_Block):
    """global pool → dropout → linear; must come last"""

    type: Literal["classifier"]
    classes: Classes = Field(description="output classes (features of the linear layer)")
    dropout: Probability = Field(default=0.0, description="dropout rate before the linear layer")
    pool: Literal["avg", "max"] = Field(default="avg", description="avg or max global pooling")


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


class Spec(StrictModel):
    """A network: its class name, input, defaults, scaling and layers, in order."""

    name: str = Field(
        description="class name of the network (an ASCII Python identifier)",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    description: str | None = Field(default=None, description="free text about the network")
    input: Input = Field(description="what the network reads")
    defaults: Defaults = Field(default=Defaults(), description="settings for every layer")
    scaling: Scaling = Field(default=Scaling(), description="width and depth multipliers")
    layers: list[Block] = Field(min_length=1, description="the blocks, from input to output")

    # Where each value came from, for errors found after validation (set by load_spec).
    _positions: Any = PrivateAttr(default=None)
    _text: str | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_identifier(value, "name")
