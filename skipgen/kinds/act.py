"""An activation alone."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, act_call, act_params
from skipgen.kinds.base import Kind
from skipgen.language.vocabulary import ACT_DESCRIPTION, ActSpec


class Activation(Kind):
    """an activation alone"""

    attr_prefix: ClassVar[str] = "act"
    one_act_width: ClassVar[bool] = True
    takes_flat: ClassVar[bool] = True
    channels_last_ok: ClassVar[bool] = True

    type: Literal["act"]
    act: ActSpec = Field(description=ACT_DESCRIPTION)

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = act_call(self.act, cin)
        return Body(
            out_channels=cin,
            op=("conv", 1, 1, 0, 1),
            params=act_params(self.act, cin),
            make=lambda skip, downsample: c,
        )
