"""A group of layers under one name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

from pydantic import Field, field_validator

from skipgen.kinds.base import Layer
from skipgen.language.vocabulary import REGISTER_DESCRIPTION, HintedValueError, Skip

if TYPE_CHECKING:
    from skipgen.kinds.base import Kind

    # Any kind, or a sequence. At run time the union of the kinds is the registry's, which
    # lists this kind and rebuilds its model with the union once every kind is known.
    Block: TypeAlias = "Kind | Sequence"

LAYERS_DESCRIPTION = "the layers of the group, in order; each may be a sequence itself"


class Sequence(Layer):
    """layers grouped under one name (an nn.Sequential), so that module paths can follow a
    reference's: unnamed layers inside are numbered from 0, a repeat counting once per copy"""

    attr_prefix: ClassVar[str] = "group"

    type: Literal["sequence"]
    layers: list[Block] = Field(min_length=1, description=LAYERS_DESCRIPTION)
    register_: list[str] | None = Field(
        default=None,
        alias="register",
        description=REGISTER_DESCRIPTION,
    )

    @field_validator("skip")
    @classmethod
    def _long_skip_only(cls, value: Skip | None, info: Any) -> Skip | None:
        if value is not None and value.mode != "none" and value.from_ is None:
            raise HintedValueError(
                f"a sequence has no {value.mode} skip of its own",
                "to combine its input with its output, give the layer before it an id and "
                f"write `skip: {{mode: {value.mode}, from: <that id>}}`",
            )
        return value
