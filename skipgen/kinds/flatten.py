"""Flattening the channels of a pooled map into features, as torchvision's heads do."""

from __future__ import annotations

from typing import ClassVar, Literal

from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind


class Flatten(Kind):
    """`(N, C, 1, 1)` to `(N, C)` (`nn.Flatten`), after a global pool or where the layers
    before it bring every input size down to 1; only `linear`, `act`, `dropout` and
    `drop_path` may follow"""

    attr_prefix: ClassVar[str] = "flatten"
    flattens: ClassVar[bool] = True

    type: Literal["flatten"]

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        # Its features are its channels: the size program holds its input to size 1.
        c = Call("nn.Flatten")
        return Body(out_channels=cin, op=("flat",), params=0, make=lambda skip, downsample: c)
