"""Merging several earlier outputs: a concat in the stated order, a sum, a product.

A merge reads only the outputs it names in ``from`` (by id or name, never by position), so
branches of a network meet here. Its lowering needs every source's channels and size, which
the list lowering has (:mod:`skipgen.ir.layers`); :meth:`Merge.channels` says what comes out.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from skipgen.ir.common import Body, Resolved
from skipgen.kinds.base import Kind
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.vocabulary import HintedValueError


class Merge(Kind):
    """What the three merges share: two or more sources, and no repeat or skip of their own."""

    target: ClassVar[str]  # the skipgen.nn block that merges
    merges: ClassVar[bool] = True
    own_norm_act: ClassVar[bool] = True

    from_: list[str] = Field(  # type: ignore[assignment]
        alias="from",
        description="the earlier layers whose outputs are merged (ids or names), in order; "
        "two or more",
    )

    @field_validator("from_")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            kind = cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
            read = f"read {value[0]!r} with `from: {value[0]}` on a layer" if value else ""
            raise HintedValueError(
                f"a {kind} merges 2 or more outputs; this names {len(value)}",
                f"name every output to merge{', or ' + read if read else ''}",
            )
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise HintedValueError(
                f"{repeated[0]!r} is named twice", "name each output to merge once"
            )
        return value

    @field_validator("skip")
    @classmethod
    def _no_skip(cls, value: object) -> object:
        if value is not None:
            raise HintedValueError(
                "a merge has no skip of its own",
                "name the output to combine in `from`, or put the skip on a layer after it",
            )
        return value

    @field_validator("repeat")
    @classmethod
    def _once(cls, value: int) -> int:
        if value != 1:
            raise HintedValueError(
                "a merge cannot repeat", "remove `repeat`: a merge runs once on its sources"
            )
        return value

    def channels(self, sources: list[int]) -> int | str:
        """The channels out for the sources' channels, or why they cannot merge."""
        raise NotImplementedError

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        """A merge has no one input to lower from: the list lowering merges its sources."""
        raise NotImplementedError("internal error: a merge is lowered by its list")


class Concat(Merge):
    """the outputs named in `from`, concatenated along the channels in that order
    (`torch.cat`)"""

    attr_prefix: ClassVar[str] = "cat"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.merge:Concat",)
    macs: ClassVar[dict[str, Formula]] = {"Concat": no_convs}
    target: ClassVar[str] = "Concat"

    type: Literal["concat"]

    def channels(self, sources: list[int]) -> int | str:
        return sum(sources)


class Add(Merge):
    """the sum of the outputs named in `from`, which have the same channels"""

    attr_prefix: ClassVar[str] = "add"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.merge:Add",)
    macs: ClassVar[dict[str, Formula]] = {"Add": no_convs}
    target: ClassVar[str] = "Add"

    type: Literal["add"]

    def channels(self, sources: list[int]) -> int | str:
        if len(set(sources)) > 1:
            return "an add needs the same channels in every source"
        return sources[0]


class Mul(Merge):
    """the element-wise product of the outputs named in `from`: the same channels, or one
    channel that broadcasts (a gate)"""

    attr_prefix: ClassVar[str] = "mul"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.merge:Mul",)
    macs: ClassVar[dict[str, Formula]] = {"Mul": no_convs}
    target: ClassVar[str] = "Mul"

    type: Literal["mul"]

    def channels(self, sources: list[int]) -> int | str:
        wide = {c for c in sources if c != 1}
        if len(wide) > 1:
            return "a mul needs the same channels in every source, or one channel (a gate)"
        return max(sources)


MERGES = (Concat, Add, Mul)
