"""What every block kind shares: the common fields, the facts a kind states about itself,
and the signature of its lowering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ConfigDict, Field, field_validator

from skipgen.ir.common import Body, Resolved
from skipgen.spec.limits import Repeat
from skipgen.spec.vocabulary import (
    ACT_DESCRIPTION,
    IDENTIFIER_SCHEMA,
    Act,
    NormSpec,
    OnMismatch,
    SkipSpec,
    StrictModel,
    check_identifier,
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
    flattens: ClassVar[bool] = False  # its output is (batch, features): it ends the network

    if TYPE_CHECKING:  # each kind declares its own `type: Literal[...]` field
        type: Any

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
    checkpoint: bool = Field(
        default=False,
        description="while training, keep none of the layer's activations for the backward "
        "pass, which recomputes them (activation checkpointing)",
    )

    model_config = ConfigDict(json_schema_extra=lambda schema: _describe_type(schema))

    @field_validator("name", "id")
    @classmethod
    def _identifier(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else check_identifier(value, info.field_name)


class Kind(Layer):
    """A block of the spec. Subclasses set ``type`` and the facts below, and lower."""

    scale_width: bool = Field(
        default=True, description="whether scaling.width applies to this layer"
    )
    scale_depth: bool | None = Field(
        default=None, description="whether scaling.depth applies; default: for the residual kinds"
    )

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
        description="batch, group, instance or none, or {type, groups, eps, momentum}; "
        "default: defaults.norm",
    )
    act: Act | None = Field(default=None, description=ACT_DESCRIPTION + "; default: defaults.act")
