"""Upsampling: a transposed conv, or interpolation then a conv."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import NormActKind
from skipgen.spec.limits import Channels, Kernel, Scale


class Upsample(NormActKind):
    """transposed conv, or `nearest`/`bilinear` interpolation then a conv; no norm or act
    unless set on the block"""

    own_norm_act: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "up"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.upsample:UpConv",)

    type: Literal["upsample"]
    channels: Channels = Field(description="output channels")
    mode: Literal["transposed", "nearest", "bilinear"] = Field(
        default="transposed", description="transposed conv, or interpolation then a conv"
    )
    scale: Scale = Field(default=2, description="factor by which every spatial dimension grows")
    kernel: Kernel | None = Field(
        default=None, description="kernel size; default: scale (transposed), 3"
    )
    bias: bool | None = Field(
        default=None, description="conv bias; default: only when no norm follows"
    )

    def kernel_errors(self, kernel: int) -> tuple[LayerError, ...]:
        """Why ``kernel`` cannot upsample by ``scale`` exactly, if it cannot."""
        transposed = self.mode == "transposed"
        if transposed and (kernel < self.scale or (self.scale == 1 and kernel % 2 == 0)):
            message = (
                f"a transposed conv with kernel {kernel} cannot upsample by {self.scale} exactly"
            )
            hint = "use a kernel of at least the scale (an odd kernel for scale 1)"
            return (LayerError(field="kernel", message=message, hint=hint),)
        if not transposed and kernel % 2 == 0:
            message = f"the conv after {self.mode} interpolation needs an odd kernel, not {kernel}"
            hint = "an odd kernel keeps the upsampled size"
            return (LayerError(field="kernel", message=message, hint=hint),)
        return ()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        kernel = self.kernel
        if kernel is None:
            kernel = self.scale if self.mode == "transposed" else 3
        bias = inherited.has_bias(self.bias)
        c = call(
            "UpConv",
            cin,
            cout,
            scale=self.scale,
            mode=self.mode,
            kernel_size=self.kernel,
            bias=self.bias if self.bias is not None else inherited.bias,
            act=inherited.act,
            **inherited.norm_kwargs(),
        )
        return Body(
            out_channels=cout,
            op=("up", self.scale),
            params=inherited.conv_params(cin, cout, kernel, bias=bias)
            + inherited.norm_params(cout),
            make=lambda skip, downsample: c,
            errors=self.kernel_errors(kernel),
            normed=((cout, "out"),),
        )
