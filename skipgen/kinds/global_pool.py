"""Adaptive pooling: to size 1 (`global_pool`), or to any fixed size (`adaptive_pool`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.language.limits import Extent

ADAPTIVE = {"avg": "nn.AdaptiveAvgPool", "max": "nn.AdaptiveMaxPool"}


def _one_for_all(value: Any) -> Any:
    """``7`` as ``[7]``: one size for every dimension (as ``input.size`` reads it)."""
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


Sizes = Annotated[list[Extent], Field(min_length=1, max_length=3)]
OneOrEach = Annotated[Sizes, BeforeValidator(_one_for_all, json_schema_input_type=Extent | Sizes)]


class GlobalPool(Kind):
    """adaptive pooling to size 1"""

    attr_prefix: ClassVar[str] = "pool"

    type: Literal["global_pool"]
    mode: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = Call(f"{ADAPTIVE[self.mode]}{inherited.dims}d", (1,))
        return Body(out_channels=cin, op=("global",), params=0, make=lambda skip, downsample: c)


class AdaptivePool(Kind):
    """adaptive pooling to a fixed `size` whatever the input's (`nn.AdaptiveAvgPool2d(7)`;
    size 1 is `global_pool`)"""

    attr_prefix: ClassVar[str] = "pool"

    type: Literal["adaptive_pool"]
    size: OneOrEach = Field(
        description="the output size: one number, or one per dimension (all the same: "
        "skipgen sizes every dimension alike)"
    )
    mode: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")

    def size_errors(self, dims: int) -> tuple[LayerError, ...]:
        """Why ``size`` cannot be this layer's output size in ``dims`` dimensions, if so."""
        if len(self.size) not in (1, dims):
            message = f"{len(self.size)} sizes given for {dims} dimensions"
            hint = "give one size for every dimension, or a single number"
            return (LayerError(field="size", message=message, hint=hint),)
        if len(set(self.size)) > 1:
            message = f"sizes {self.size} differ: skipgen sizes every dimension alike"
            hint = "give one size for every dimension"
            return (LayerError(field="size", message=message, hint=hint),)
        return ()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        # written as given: one number, or a tuple of one per dimension
        size = self.size[0] if len(self.size) == 1 else tuple(self.size)
        c = Call(f"{ADAPTIVE[self.mode]}{inherited.dims}d", (size,))
        return Body(
            out_channels=cin,
            op=("fixed", self.size[0]),
            params=0,
            make=lambda skip, downsample: c,
            errors=self.size_errors(inherited.dims),
        )
