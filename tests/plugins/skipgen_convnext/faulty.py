"""Kinds that skipgen must refuse, each for one reason, to test its errors."""

from __future__ import annotations

from typing import ClassVar, Literal

from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind


class Shadow(Kind):
    """a kind whose type is a built-in's"""

    attr_prefix: ClassVar[str] = "shadow"
    type: Literal["conv"]


class StarBlock(Kind):
    """a block whose nn module has a star import"""

    attr_prefix: ClassVar[str] = "star"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.star:Star",)
    type: Literal["star"]

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        star = Call("Star")
        return Body(out_channels=cin, op=("conv", 1, 1, 0, 1), params=0, make=lambda s, d: star)


CLASH = (Shadow,)
STAR = (StarBlock,)
