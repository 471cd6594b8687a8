"""Stochastic depth as a layer of its own, on a composite block's residual branch."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.vocabulary import Probability


class DropPath(Kind):
    """while training, zero whole samples with probability `p` and rescale the rest
    (torchvision's `StochasticDepth(p, "row")`): at the end of a composite block's branch,
    before the block's own `skip: add`"""

    attr_prefix: ClassVar[str] = "drop_path"
    takes_flat: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.channels_last:StochasticDepth",)
    macs: ClassVar[dict[str, Formula]] = {"StochasticDepth": no_convs}

    type: Literal["drop_path"]
    p: Probability = Field(description="the probability of dropping a sample's branch")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = call("StochasticDepth", float(self.p))
        return Body(out_channels=cin, op=KEEPS_SIZE, params=0, make=lambda skip, downsample: c)
