"""The spec language: pydantic models, one per block kind, tagged by ``type``.

Every model forbids unknown keys and validates strictly: a number must be written as a
number (``"64"`` is a string, ``true`` is not 1), floats must be finite, and every count and
size is bounded by :data:`skipgen.language.limits.LIMITS`. Strings that reach generated source
(``name``, ``id``, the network's ``name``) must be ASCII Python identifiers that are not
keywords, builtins or names the generated module uses.

Each model's docstring is what the JSON Schema (and so an editor's hover) says about it; a
block kind's docstring also describes its ``type`` value. The block kinds live in
:mod:`skipgen.kinds`, one module each; they are re-exported here.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    StringConstraints,
    create_model,
    field_validator,
)

from skipgen.composite.define import BlockDefinition
from skipgen.kinds.act import Activation as Activation
from skipgen.kinds.base import Kind as Kind
from skipgen.kinds.base import Layer as Layer
from skipgen.kinds.base import NormActKind as NormActKind
from skipgen.kinds.basic import Basic as Basic
from skipgen.kinds.bottleneck import Bottleneck as Bottleneck
from skipgen.kinds.classifier import Classifier as Classifier
from skipgen.kinds.conv import Conv as Conv
from skipgen.kinds.dense import Dense as Dense
from skipgen.kinds.global_pool import GlobalPool as GlobalPool
from skipgen.kinds.identity import Dropout as Dropout
from skipgen.kinds.identity import Identity as Identity
from skipgen.kinds.inverted_residual import InvertedResidual as InvertedResidual
from skipgen.kinds.norm import NormAct as NormAct
from skipgen.kinds.plugins import plugin_kinds
from skipgen.kinds.pool import AvgPool as AvgPool
from skipgen.kinds.pool import MaxPool as MaxPool
from skipgen.kinds.registry import KINDS as KINDS  # re-exported
from skipgen.kinds.registry import Block
from skipgen.kinds.sequence import LAYERS_DESCRIPTION
from skipgen.kinds.sequence import Sequence as Sequence
from skipgen.kinds.transition import Transition as Transition
from skipgen.kinds.upsample import Upsample as Upsample
from skipgen.language.limits import Channels, Depth, Divisor, Extent, Width
from skipgen.language.reserved import RESERVED_NAMES as RESERVED_NAMES  # re-exported
from skipgen.language.vocabulary import (
    ACT_DESCRIPTION,
    IDENTIFIER_SCHEMA,
    REGISTER_DESCRIPTION,
    Act,
    ActSpec,
    NormSpec,
    Probability,
    StrictModel,
    check_identifier,
)
from skipgen.language.vocabulary import Norm as Norm  # re-exported
from skipgen.language.vocabulary import Skip as Skip  # re-exported

# The key of an output in the dict a network returns: letters, digits, _ and -.
OutputKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


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
    act: ActSpec = Field(default=Act(type="relu"), description=ACT_DESCRIPTION)
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


_LAYERS_DESCRIPTION = "the blocks, from input to output"
_HEAD_LAYERS_DESCRIPTION = "the layers of the head, from its input to its output"


class Head(StrictModel):
    """Layers that branch off the main path at an earlier layer and end in an output
    (deep supervision, an auxiliary classifier)."""

    name: str = Field(
        description="attribute name of the head (its state_dict prefix) and its output's name",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    from_: str = Field(
        alias="from", description="the layer whose output the head reads (its id or name)"
    )
    layers: list[Block] = Field(min_length=1, description=_HEAD_LAYERS_DESCRIPTION)

    @field_validator("name")
    @classmethod
    def _head_name(cls, value: str) -> str:
        return check_identifier(value, "name")


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
    plugins: list[str] = Field(
        default_factory=list,
        description="installed packages whose kinds the layers use (entry points of the "
        "group skipgen.kinds)",
    )
    include: list[str] = Field(
        default_factory=list,
        description="files of composite blocks (their `blocks`), by path relative to this "
        "file, ending in .yaml",
    )
    blocks: dict[str, BlockDefinition] = Field(
        default_factory=dict,
        description="composite blocks: kinds written here, by name, each from typed params "
        "and a body of layers; a layer uses one by its name as `type`",
    )
    layers: list[Block] = Field(min_length=1, description=_LAYERS_DESCRIPTION)
    register_: list[str] | None = Field(
        default=None,
        alias="register",
        description=REGISTER_DESCRIPTION,
    )
    heads: list[Head] = Field(
        default_factory=list,
        description="branches off the main path, each ending in an output that `outputs` names",
    )
    outputs: list[str] | dict[OutputKey, str] | None = Field(
        default=None,
        min_length=1,
        description="what the network returns, in order: layers (by id or name) and heads "
        "(by name), as a list; or as a dict under the keys given (`{out: logits}`, as "
        "torchvision's segmentation and detection backbones return); layers that no "
        "output needs are not built; default: the last layer",
    )

    # Where each value came from, for errors found after validation (set by load_spec).
    _positions: Any = PrivateAttr(default=None)
    _text: str | None = PrivateAttr(default=None)
    # the composite blocks and every kind their bodies may use, when the spec has blocks
    _blocks: Any = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_identifier(value, "name")


def kinds_of(plugins: tuple[str, ...]) -> dict[str, type[Layer]]:
    """Every kind a spec that uses ``plugins`` may name, by ``type``: built-ins first."""
    return {**KINDS, **plugin_kinds(plugins)} if plugins else KINDS


@cache
def spec_model(plugins: tuple[str, ...]) -> type[Spec]:
    """The model that validates a spec using ``plugins``: its layers may be their kinds too.

    Raises :class:`skipgen.kinds.plugins.PluginError` for a plugin that cannot be used.
    """
    if not plugins:
        return Spec
    return spec_model_over(tuple(kinds_of(plugins).values()))


def layer_union(kinds: tuple[type[Layer], ...]) -> Any:
    """A layer of any of ``kinds``, chosen by its ``type``; a sequence holds them too."""
    # A sequence holds the wider union too: its own model, over it.
    layer_list = list["PluginBlock"]  # type: ignore[name-defined]  # noqa: F821 (the rebuild below names it)
    inner = (layer_list, Field(min_length=1, description=LAYERS_DESCRIPTION))
    sequence = create_model("Sequence", __base__=Sequence, __doc__=Sequence.__doc__, layers=inner)
    members = (*(k for k in kinds if k is not Sequence), sequence)
    block: Any = Annotated[Union[members], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    sequence.model_rebuild(_types_namespace={"PluginBlock": block})
    return block


def spec_model_over(kinds: tuple[type[Layer], ...]) -> type[Spec]:
    """The model of a spec whose layers may be of any of ``kinds`` (not cached: a spec's
    composite blocks make kinds of their own)."""
    block: Any = layer_union(kinds)
    layers = (list[block], Field(min_length=1, description=_LAYERS_DESCRIPTION))
    head_layers = (list[block], Field(min_length=1, description=_HEAD_LAYERS_DESCRIPTION))
    head: Any = create_model("Head", __base__=Head, __doc__=Head.__doc__, layers=head_layers)
    heads: Any = (
        list[head],
        Field(default_factory=list, description=Spec.model_fields["heads"].description),
    )
    return create_model("Spec", __base__=Spec, __doc__=Spec.__doc__, layers=layers, heads=heads)
