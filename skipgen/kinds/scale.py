"""A learned scale per channel: ConvNeXt's and CaiT's layer scale."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.vocabulary import HintedValueError


class Scale(Kind):
    """the input times a learned scale per channel, `init` at first (layer scale): a
    parameter of the network or the block itself, `(C, 1, 1)` as torchvision's ConvNeXt
    holds it, so it comes before the modules in the `state_dict`; with `learned: false`,
    times the constant `init` (a residual scale, Inception-ResNet's 0.17)"""

    attr_prefix: ClassVar[str] = "scale"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.channels_last:scale_parameter",
        "skipgen.nn.channels_last:ConstantScale",
    )
    macs: ClassVar[dict[str, Formula]] = dict.fromkeys(
        ("scale_parameter", "ConstantScale"), no_convs
    )

    type: Literal["scale"]
    init: float = Field(
        default=1.0,
        ge=-1000.0,
        le=1000.0,
        description="the scale's first value (ConvNeXt: 1e-6); the constant, unlearned",
    )
    learned: bool = Field(
        default=True, description="false: a constant scale, no parameter (a residual scale)"
    )

    @field_validator("skip")
    @classmethod
    def _no_skip(cls, value: object) -> object:
        if value is not None:
            raise HintedValueError(
                "a scale has no skip of its own",
                "put the skip on the composite block around it (`skip: add`), or on a layer "
                "after it",
            )
        return value

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        if not self.learned:
            constant = call("ConstantScale", float(self.init))
            return Body(
                out_channels=cin, op=KEEPS_SIZE, params=0, make=lambda skip, downsample: constant
            )
        kwargs = {"dims": inherited.dims} if inherited.dims != 2 else {}
        c = call("scale_parameter", cin, float(self.init), **kwargs)
        return Body(out_channels=cin, op=KEEPS_SIZE, params=cin, make=lambda skip, downsample: c)
