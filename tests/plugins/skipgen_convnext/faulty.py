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


class _Calls(Kind):
    """A kind that lowers to one call of its only block, which keeps the channels."""

    attr_prefix: ClassVar[str] = "faulty"

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        block = Call(self.blocks[0].partition(":")[2])
        return Body(out_channels=cin, op=("conv", 1, 1, 0, 1), params=0, make=lambda s, d: block)


class StarImport(_Calls):
    """its nn module has a star import"""

    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.star:Star",)
    type: Literal["star"]


class UnknownName(_Calls):
    """its nn module reads a name it neither defines nor imports"""

    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.unresolved:Unresolved",)
    type: Literal["unresolved"]


class Absent(_Calls):
    """its nn module does not exist"""

    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.absent:Absent",)
    type: Literal["absent"]


CLASH = (Shadow,)
STAR = (StarImport,)
UNRESOLVED = (UnknownName,)
ABSENT = (Absent,)
NOT_KINDS = ("conv",)


class OutsideImport(_Calls):
    """its nn module imports from beyond its package"""

    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.outside:Outside",)
    type: Literal["outside"]


OUTSIDE = (OutsideImport,)
