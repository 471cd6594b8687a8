"""The classification head."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.spec.limits import Classes
from skipgen.spec.vocabulary import Probability


class Classifier(Kind):
    """global pool → dropout → linear; must come last"""

    attr_prefix: ClassVar[str] = "classifier"
    flattens: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.head:Classifier",)

    type: Literal["classifier"]
    classes: Classes = Field(description="output classes (features of the linear layer)")
    dropout: Probability = Field(default=0.0, description="dropout rate before the linear layer")
    pool: Literal["avg", "max"] = Field(default="avg", description="avg or max global pooling")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = call(
            "Classifier",
            cin,
            self.classes,
            dropout=self.dropout,
            pool=self.pool,
            dims=inherited.dims,
        )
        return Body(
            out_channels=self.classes,
            op=("global",),
            params=cin * self.classes + self.classes,
            make=lambda skip, downsample: c,
        )
