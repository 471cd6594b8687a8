"""What every block kind shares: the common fields, the facts a kind states about itself,
and the signature of its lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from skipgen.ir.common import Body, Resolved
from skipgen.kinds.macs import Formula
from skipgen.language.limits import Repeat
from skipgen.language.vocabulary import (
    ACT_DESCRIPTION,
    IDENTIFIER_SCHEMA,
    KEY_PATH_SCHEMA,
    ActSpec,
    HintedValueError,
    NormSpec,
    OnMismatch,
    Probability,
    SkipSpec,
    StrictModel,
    check_identifier,
    check_key_path,
)


class Layer(StrictModel):
    """An entry of a spec's ``layers``: a block of some kind, or a group of layers."""

    default_skip: ClassVar[str] = "none"  # the skip mode when a layer sets none
    default_on_mismatch: ClassVar[str] = "error"  # after the kind's paper
    residual: ClassVar[bool] = False  # has a residual branch, which stochastic depth drops
    scales_depth: ClassVar[bool] = False  # whether scaling.depth applies by default
    own_norm_act: ClassVar[bool] = False  # ignores defaults.norm and defaults.act
    attr_prefix: ClassVar[str]  # attribute names of unnamed layers: prefix + counter
    blocks: ClassVar[tuple[str, ...]] = ()  # "module:Class" of the skipgen.nn blocks it calls
    # what each of those blocks costs: class name -> the convolutions it runs (kinds/macs.py)
    macs: ClassVar[dict[str, Formula]] = {}
    flattens: ClassVar[bool] = False  # its output is (batch, features): it ends the network
    # its activations all see one channel count, so a per-channel PReLU can be built
    one_act_width: ClassVar[bool] = False
    takes_flat: ClassVar[bool] = False  # may follow a layer whose output is flat
    merges: ClassVar[bool] = False  # reads a list of outputs in `from` (concat, add, mul)
    # may run between `permute: channels_last` and back, on the channels of the last axis
    channels_last_ok: ClassVar[bool] = False

    if TYPE_CHECKING:  # each kind declares its own `type: Literal[...]` field
        type: Any

    name: str | None = Field(
        default=None,
        description="key of the module (its state_dict prefix): a Python name, a key such "
        "as `block1-0` inside a sequence, or a path into containers (`inner_blocks.3`)",
        json_schema_extra=KEY_PATH_SCHEMA,
    )
    id: str | None = Field(
        default=None,
        description="handle for `skip: {from: ...}` references from later layers",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    alias: str | None = Field(
        default=None,
        description="a second key under which the network (or the block) registers this "
        "module too: its tensors appear under both in the state_dict, as references that "
        "keep a head under two names do",
        json_schema_extra=IDENTIFIER_SCHEMA,
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="the earlier layer whose output this layer reads (its id or name), "
        "instead of the previous layer's: a branch from that point",
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
    checkpoint: bool = Field(
        default=False,
        description="while training, keep none of the layer's activations for the backward "
        "pass, which recomputes them (activation checkpointing)",
    )

    model_config = ConfigDict(json_schema_extra=lambda schema: _describe_type(schema))

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_several(cls, value: Any) -> Any:
        """A layer reads one output, a merge a list: each says what to write instead."""
        kind = getattr(cls.model_fields["type"].annotation, "__args__", ("layer",))[0]
        if isinstance(value, list) and not cls.merges:
            raise HintedValueError(
                f"a {kind} reads one output, and this `from` names a list",
                "merge several first in a `concat`, `add` or `mul` layer, and read that",
            )
        if isinstance(value, str) and cls.merges:
            raise HintedValueError(
                f"a {kind} merges a list of outputs, and this `from` names one",
                f"write `from: [{value}, ...]`, naming every output to merge",
            )
        return value

    @field_validator("name")
    @classmethod
    def _key(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_key_path(value, "name")

    @field_validator("id", "alias")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value, info.field_name)

    @property
    def drops_path(self) -> bool:
        """Whether the layer counts in the network's stochastic depth schedule: a residual
        kind, or any layer that adds the shortcut around itself (not a long skip)."""
        if self.residual:
            return True
        skip = self.skip
        mode = skip.mode if skip else self.default_skip
        return mode == "add" and not (skip and skip.from_)


class Kind(Layer):
    """A block of the spec. Subclasses set ``type`` and the facts below, and lower."""

    scale_width: bool = Field(
        default=True, description="whether scaling.width applies to this layer"
    )
    scale_depth: bool | None = Field(
        default=None, description="whether scaling.depth applies; default: for the residual kinds"
    )
    stochastic_depth: Probability | None = Field(
        default=None,
        description="drop probability, while training, of the branch that the layer's own "
        "`skip: add` goes around (per sample, as torchvision's stochastic_depth in row "
        "mode); default: from defaults.stochastic_depth",
    )

    @field_validator("stochastic_depth")
    @classmethod
    def _drops_a_residual_branch(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None or cls.residual:
            return value
        skip = info.data.get("skip")
        if (skip.mode if skip else cls.default_skip) != "add" or (skip and skip.from_):
            hint = "write `skip: add` on the layer, or remove stochastic_depth"
            if cls.merges:
                hint = "remove stochastic_depth: a merge has no branch of its own to drop"
            raise HintedValueError(
                "stochastic_depth drops the branch around which a layer adds its input, "
                "and this layer adds none",
                hint,
            )
        return value

    def sized_by_skip(self) -> bool:
        """Whether the layer's output takes the spatial size of its long skip's source
        (its module is called with that source as a second argument)."""
        return False

    def size_source(self) -> str | None:
        """The earlier output (id or name) whose spatial size the layer's output takes,
        where it names one instead of taking its long skip's: read as a skip source that
        combines nothing."""
        return None

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        """This layer from ``cin`` to ``cout`` channels (0: the kind decides) at ``stride``,
        with the norm, activation and bias it ``inherited`` from the network."""
        raise NotImplementedError(f"internal error: {type(self).__name__} does not lower")


def _describe_type(schema: dict[str, Any]) -> None:
    """A kind's `type` value says what the kind is (its docstring), for editors' hovers."""
    description = " ".join(schema.get("description", "").split())
    schema["description"] = schema["properties"]["type"]["description"] = description


class NormActKind(Kind):
    """A kind with its own norm and activation, which default to the network's."""

    norm: NormSpec | None = Field(
        default=None,
        description="batch, group, instance, layer or none, or {type, groups, eps, momentum, "
        "affine}; "
        "default: defaults.norm",
    )
    act: ActSpec | None = Field(
        default=None, description=ACT_DESCRIPTION + "; default: defaults.act"
    )
