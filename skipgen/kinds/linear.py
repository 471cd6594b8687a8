"""A fully connected layer over the channels: of a flat output (after `flatten`), or of a
channels-last map (ConvNeXt's pointwise layers)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.language.limits import Features


class Linear(Kind):
    """a fully connected layer over the channels (`nn.Linear`): after a `flatten`, or
    between `permute: channels_last` and back"""

    attr_prefix: ClassVar[str] = "linear"
    takes_flat: ClassVar[bool] = True
    channels_last_ok: ClassVar[bool] = True

    type: Literal["linear"]
    features: Features = Field(description="output features")
    bias: bool = Field(default=True, description="a bias (nn.Linear's default: yes)")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        features = cout or self.features
        kwargs = () if self.bias else (("bias", False),)
        c = Call("nn.Linear", (cin, features), kwargs)
        params = cin * features + (features if self.bias else 0)
        return Body(
            out_channels=features, op=KEEPS_SIZE, params=params, make=lambda skip, downsample: c
        )
