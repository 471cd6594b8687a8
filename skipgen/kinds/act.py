"""An activation alone."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import ACTIVATIONS, Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.spec.vocabulary import ACT_DESCRIPTION, Act


class Activation(Kind):
    """an activation alone"""

    attr_prefix: ClassVar[str] = "act"

    type: Literal["act"]
    act: Act = Field(description=ACT_DESCRIPTION)

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = Call(ACTIVATIONS[self.act])
        return Body(
            out_channels=cin, op=("conv", 1, 1, 0, 1), params=0, make=lambda skip, downsample: c
        )
