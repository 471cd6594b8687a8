"""Upsampling: a transposed conv, or interpolation then a conv."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import At, Conv, Formula, arguments, conv_params, has_norm, no_convs
from skipgen.language.limits import Channels, Kernel, Scale
from skipgen.language.vocabulary import ACT_DESCRIPTION, ActSpec, NormSpec


def up_conv_convs(call: Call, at: At) -> list[Conv]:
    """The transposed convolution, or the convolution after interpolating."""
    a = arguments(call, ("in_channels", "out_channels", "scale"), scale=2, mode="transposed")
    a.setdefault("kernel_size", None)
    a.setdefault("bias", None)
    default_kernel = a["scale"] if a["mode"] == "transposed" else 3
    kernel = a["kernel_size"] if a["kernel_size"] is not None else default_kernel
    has = "norm_layer" in a and has_norm(a["norm_layer"])  # UpConv's norm defaults to none
    bias = not has if a["bias"] is None else a["bias"]
    cin, cout = a["in_channels"], a["out_channels"]
    return [(conv_params(cin, cout, kernel, at.dims, 1, bias), at.out)]


class Upsample(NormActKind):
    """transposed conv, or `nearest`/`bilinear` interpolation then a conv (without
    `channels`, the interpolation alone; `size: skip`, to the size of its long skip's
    source); no norm or act unless set on the block"""

    own_norm_act: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "up"
    one_act_width: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.upsample:UpConv",
        "skipgen.nn.upsample:Interpolate",
    )
    macs: ClassVar[dict[str, Formula]] = {"UpConv": up_conv_convs, "Interpolate": no_convs}

    type: Literal["upsample"]
    channels: Channels | None = Field(
        default=None,
        description="output channels of the conv; none: interpolation alone, no conv "
        "(nearest or bilinear), the channels kept",
    )
    mode: Literal["transposed", "nearest", "bilinear"] = Field(
        default="transposed", description="transposed conv, or interpolation then a conv"
    )
    scale: Scale = Field(default=2, description="factor by which every spatial dimension grows")
    norm: NormSpec | None = Field(
        default=None,
        description="batch, group, instance, layer or none, or {type, groups, eps, momentum, "
        "affine}; default: none (defaults.norm does not apply to upsample)",
    )
    act: ActSpec | None = Field(
        default=None,
        description=ACT_DESCRIPTION + "; default: none (defaults.act does not apply to upsample)",
    )
    kernel: Kernel | None = Field(
        default=None, description="kernel size; default: scale (transposed), 3"
    )
    bias: bool | None = Field(
        default=None, description="conv bias; default: only when no norm follows"
    )
    size: str | None = Field(
        default=None,
        description="interpolate (alone, without channels) to the spatial size of an "
        "earlier output, whatever the input size, instead of by scale: `skip`, the long "
        "skip's source; or an id or name (`input`: the network's or the block's input)",
    )
    align_corners: bool | None = Field(
        default=None,
        description="bilinear only: interpolate between the corner pixels' centres "
        "(torch's align_corners=True) instead of their edges; default: false, as torch's",
    )

    def align_errors(self) -> tuple[LayerError, ...]:
        """Why ``align_corners`` does not apply to this upsample's mode, if it does not."""
        if self.align_corners is None or self.mode == "bilinear":
            return ()
        message = f"align_corners applies to bilinear interpolation, not to {self.mode}"
        hint = "remove align_corners, or set mode: bilinear"
        return (LayerError(field="align_corners", message=message, hint=hint),)

    def sized_by_skip(self) -> bool:
        return self.size is not None

    def size_source(self) -> str | None:
        return self.size if self.size != "skip" else None

    def size_errors(self) -> tuple[LayerError, ...]:
        """Why this upsample cannot take its size from its skip, if it cannot."""
        errors = []
        if self.size != "skip":
            if self.skip is not None and self.skip.from_ is not None:
                errors.append(
                    LayerError(
                        field="size",
                        message=f"size: {self.size} takes the size of that output, and this "
                        "layer's long skip would take its own",
                        hint="write size: skip to take the skip's size, or remove the skip",
                    )
                )
        elif self.skip is None or self.skip.from_ is None or self.skip.mode == "none":
            errors.append(
                LayerError(
                    field="size",
                    message="size: skip takes the size of a long skip's source, and this "
                    "layer has no long skip",
                    hint="add skip: {mode: concat, from: <the encoder layer>}, or give scale",
                )
            )
        if self.channels is not None:
            errors.append(
                LayerError(
                    field="channels",
                    message="size: skip is interpolation alone, with no conv for channels",
                    hint="remove channels, and put a conv after this layer",
                )
            )
        if "scale" in self.model_fields_set:
            errors.append(
                LayerError(
                    field="scale",
                    message="size: skip takes the size from the skip, not by a scale",
                    hint="remove scale, or size",
                )
            )
        return tuple(errors)

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

    def interpolation_errors(self) -> tuple[LayerError, ...]:
        """Why this upsample without channels cannot be interpolation alone, if it cannot."""
        hint = "give channels for a conv after the interpolation, or remove this key"
        if self.mode == "transposed":
            message = "a transposed conv needs channels"
            hint = "give channels, or set mode: nearest or bilinear to interpolate alone"
            return (LayerError(field="channels", message=message, hint=hint),)
        return tuple(
            LayerError(
                field=key,
                message=f"{key} applies to a conv, and without channels there is none",
                hint=hint,
            )
            for key in ("kernel", "bias", "norm", "act")
            if getattr(self, key) is not None
        )

    def interpolation(self, inherited: Resolved, cin: int) -> Body:
        """Upsampling by interpolation alone: ``nn.Upsample``, the channels kept."""
        linear = {1: "linear", 2: "bilinear", 3: "trilinear"}[inherited.dims]
        kwargs: tuple[tuple[str, object], ...] = (("scale_factor", float(self.scale)),)
        if self.mode == "nearest":
            kwargs += (("mode", "nearest"),)
        else:
            kwargs += (("mode", linear), ("align_corners", bool(self.align_corners)))
        c = Call("nn.Upsample", (), kwargs)
        return Body(
            out_channels=cin,
            op=("up", self.scale),
            params=0,
            make=lambda skip, downsample: c,
            errors=self.interpolation_errors() + self.align_errors(),
        )

    def skip_interpolation_errors(self) -> tuple[LayerError, ...]:
        """Why ``size: skip`` cannot interpolate with this mode and these keys, if so."""
        if self.mode == "transposed":
            message = f"size: {self.size} interpolates, and a transposed conv cannot take a size"
            hint = "set mode: nearest or bilinear"
            return (LayerError(field="mode", message=message, hint=hint),)
        return self.interpolation_errors()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        if self.size is not None:
            align = bool(self.align_corners)
            mode = call("Interpolate", self.mode, dims=inherited.dims, align_corners=align)
            return Body(
                out_channels=cin,
                op=("conv", 1, 1, 0, 1),  # the lowering gives it its skip's size slot
                params=0,
                make=lambda skip, downsample: mode,
                errors=self.size_errors() + self.skip_interpolation_errors() + self.align_errors(),
            )
        if self.channels is None:
            return self.interpolation(inherited, cin)
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
            align_corners=bool(self.align_corners),
            kernel_size=self.kernel,
            bias=self.bias if self.bias is not None else inherited.bias,
            act=inherited.act_at(cout),
            **inherited.norm_kwargs(),
        )
        return Body(
            out_channels=cout,
            op=("up", self.scale),
            params=inherited.conv_params(cin, cout, kernel, bias=bias)
            + inherited.norm_params(cout)
            + inherited.act_params(cout),
            make=lambda skip, downsample: c,
            errors=self.kernel_errors(kernel) + self.align_errors(),
            normed=((cout, "out"),),
        )
