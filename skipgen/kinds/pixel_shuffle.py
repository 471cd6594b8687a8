"""Moving channels into positions and back: ESPCN's sub-pixel convolution and its inverse."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.language.limits import Factor


def image_errors(kind: str, dims: int) -> tuple[LayerError, ...]:
    """torch's pixel shuffles rearrange the last two dimensions: images only."""
    if dims == 2:
        return ()
    message = f"a {kind} rearranges images (input.dims 2), and this network has dims {dims}"
    hint = "use upsample or a strided conv for signals and volumes"
    return (LayerError(field="type", message=message, hint=hint),)


class PixelShuffle(Kind):
    """`C * factor**2` channels to `C`, each spatial dimension `factor` times larger
    (`nn.PixelShuffle`)"""

    attr_prefix: ClassVar[str] = "pixel_shuffle"

    type: Literal["pixel_shuffle"]
    factor: Factor = Field(default=2, description="factor by which height and width grow")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        errors = image_errors(self.type, inherited.dims)
        block = self.factor**2
        if cin % block:
            message = f"{cin} input channels are not a multiple of factor**2 = {block}"
            hint = f"give the layer before it a multiple of {block} channels, or another factor"
            errors += (LayerError(field="factor", message=message, hint=hint),)
        c = Call("nn.PixelShuffle", (self.factor,))
        return Body(
            out_channels=cin // block,
            op=("up", self.factor),
            params=0,
            make=lambda skip, downsample: c,
            errors=errors,
        )


class PixelUnshuffle(Kind):
    """`C` channels to `C * factor**2`, each spatial dimension `factor` times smaller,
    which `factor` must divide (`nn.PixelUnshuffle`)"""

    attr_prefix: ClassVar[str] = "pixel_unshuffle"

    type: Literal["pixel_unshuffle"]
    factor: Factor = Field(default=2, description="factor by which height and width shrink")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        c = Call("nn.PixelUnshuffle", (self.factor,))
        return Body(
            out_channels=cin * self.factor**2,
            op=("divide", self.factor),
            params=0,
            make=lambda skip, downsample: c,
            errors=image_errors(self.type, inherited.dims),
        )
