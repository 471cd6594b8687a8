"""Adaptive pooling to size 1."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind


class GlobalPool(Kind):
    """adaptive pooling to size 1"""

    attr_prefix: ClassVar[str] = "pool"

    type: Literal["global_pool"]
    mode: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        target = {"avg": "nn.AdaptiveAvgPool", "max": "nn.AdaptiveMaxPool"}[self.mode]
        c = Call(f"{target}{inherited.dims}d", (1,))
        return Body(out_channels=cin, op=("global",), params=0, make=lambda skip, downsample: c)
