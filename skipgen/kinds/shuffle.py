"""ShuffleNet's channel shuffle."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.limits import Groups


class Shuffle(Kind):
    """channel shuffle: the channels as `groups` rows, read column by column (ShuffleNet's
    `channel_shuffle`)"""

    attr_prefix: ClassVar[str] = "shuffle"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.shuffle:ChannelShuffle",)
    macs: ClassVar[dict[str, Formula]] = {"ChannelShuffle": no_convs}

    type: Literal["shuffle"]
    groups: Groups = Field(default=2, description="rows of channels (ShuffleNetV2's: 2)")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        errors: tuple[LayerError, ...] = ()
        if cin % self.groups:
            message = f"the input has {cin} channels, which {self.groups} groups do not divide"
            hint = "choose groups that divide the channels of the layer before it"
            errors = (LayerError(field="groups", message=message, hint=hint),)
        c = call("ChannelShuffle", self.groups)
        return Body(
            out_channels=cin,
            op=KEEPS_SIZE,
            params=0,
            make=lambda skip, downsample: c,
            errors=errors,
        )
