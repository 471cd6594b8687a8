"""The input unchanged, and dropout."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.language.vocabulary import Probability

KEEPS_SIZE = ("conv", 1, 1, 0, 1)  # a layer that leaves the spatial size as it is


class Identity(Kind):
    """the input unchanged (`nn.Identity`): a named point of the network for `id`, `skip.from`
    and `outputs`"""

    attr_prefix: ClassVar[str] = "identity"

    type: Literal["identity"]

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = Call("nn.Identity")
        return Body(out_channels=cin, op=KEEPS_SIZE, params=0, make=lambda skip, downsample: c)


class Dropout(Kind):
    """dropout while training (`nn.Dropout`), of single values, or with `channelwise: true` of
    whole channels (`nn.Dropout2d` for images)"""

    attr_prefix: ClassVar[str] = "dropout"
    takes_flat: ClassVar[bool] = True
    channels_last_ok: ClassVar[bool] = True

    type: Literal["dropout"]
    p: Probability = Field(default=0.5, description="the probability of zeroing (torch's: 0.5)")
    channelwise: bool = Field(
        default=False,
        description="zero whole channels (nn.Dropout1d, 2d or 3d, after the input's dims) "
        "instead of single values (nn.Dropout)",
    )

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        target = f"nn.Dropout{inherited.dims}d" if self.channelwise else "nn.Dropout"
        c = Call(target, (), (("p", self.p),) if self.p != 0.5 else ())
        return Body(out_channels=cin, op=KEEPS_SIZE, params=0, make=lambda skip, downsample: c)
