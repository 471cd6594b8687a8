"""Moving the channels to the last axis and back, as ConvNeXt's block does around its
linear layers and layer norm."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.kinds.macs import Formula, no_convs


class Permute(Kind):
    """the channels moved to the last axis (`to: channels_last`, as `x.permute(0, 2, 3, 1)`
    for images) or back (`to: channels_first`); between the two, only `linear`, `norm`
    (a layer norm over the channels), `act` and `dropout` run"""

    attr_prefix: ClassVar[str] = "permute"
    channels_last_ok: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.channels_last:Permute",)
    macs: ClassVar[dict[str, Formula]] = {"Permute": no_convs}

    type: Literal["permute"]
    to: Literal["channels_last", "channels_first"] = Field(
        description="channels_last: (N, C, H, W) to (N, H, W, C); channels_first: back"
    )

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        d = inherited.dims
        if self.to == "channels_last":
            dims = (0, *range(2, d + 2), 1)
        else:
            dims = (0, d + 1, *range(1, d + 1))
        c = call("Permute", dims)
        return Body(out_channels=cin, op=KEEPS_SIZE, params=0, make=lambda skip, downsample: c)
