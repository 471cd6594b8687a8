"""The `convnext` kind: its YAML schema, its facts and its lowering. Torch-free."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.ir.graph import Call
from skipgen.kinds.base import Kind
from skipgen.kinds.macs import At, Conv, Formula, arguments, conv_params
from skipgen.language.vocabulary import Probability


def convnext_convs(call: Call, at: At) -> list[Conv]:
    """The 7x7 depthwise conv and the two 1x1 convs, all with bias, at the output's
    positions (the LayerNorm and the layer scale cost one MAC per parameter)."""
    a = arguments(call, ("channels",), expansion=4)
    channels, hidden = a["channels"], a["channels"] * a["expansion"]
    return [
        (conv_params(channels, channels, 7, at.dims, channels, True), at.out),
        (conv_params(channels, hidden, 1, at.dims, 1, True), at.out),
        (conv_params(hidden, channels, 1, at.dims, 1, True), at.out),
    ]


class ConvNeXt(Kind):
    """ConvNeXt block: 7x7 depthwise conv, LayerNorm, 1x1 expand, GELU, 1x1 project"""

    default_skip: ClassVar[str] = "add"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    own_norm_act: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "stage"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.nn:ConvNeXtBlock",)
    macs: ClassVar[dict[str, Formula]] = {"ConvNeXtBlock": convnext_convs}

    type: Literal["convnext"]
    expansion: int = Field(default=4, ge=1, le=16, description="hidden channels per channel")
    layer_scale: float = Field(default=1e-6, gt=0, le=1, description="initial layer scale")
    stochastic_depth: Probability | None = Field(default=None, description="drop path rate")

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        hidden = cin * self.expansion
        params = (7**inherited.dims + 1) * cin  # depthwise conv
        params += 2 * cin  # LayerNorm
        params += (cin + 1) * hidden + (hidden + 1) * cin  # the two 1x1 convs
        params += cin  # layer scale
        errors = ()
        if self.skip is not None and self.skip.mode == "concat":
            errors = (
                LayerError(
                    field="skip",
                    message="a convnext block adds its input",
                    hint="use `skip: add` or `none`",
                ),
            )

        def make(skip: str, downsample: bool) -> object:
            return call(
                "ConvNeXtBlock",
                cin,
                dims=inherited.dims,
                expansion=self.expansion,
                layer_scale=self.layer_scale,
                skip=skip,
                drop_path=self.stochastic_depth or 0.0,
            )

        return Body(
            out_channels=cin,
            op=("conv", 7, 1, 3, 1),
            params=params,
            make=make,  # type: ignore[arg-type]
            builtin_skip=True,
            errors=errors,
        )


KINDS = (ConvNeXt,)
