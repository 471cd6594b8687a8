"""conv → norm → act, or the bare conv layer."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, bare_conv, call, groups_errors, same_padding
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import Formula, conv_norm_act
from skipgen.language.limits import Channels, Dilation, Groups, Kernel, Padding, Stride
from skipgen.language.shortcut import ShortcutSpec, shortcut_field


class Conv(NormActKind):
    """conv → norm → act (`preact: true`: norm → act → conv); with `norm: none, act: none`,
    the bare conv layer"""

    attr_prefix: ClassVar[str] = "conv"
    one_act_width: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.conv:ConvNormAct",
        "skipgen.nn.conv:NormActConv",
    )
    macs: ClassVar[dict[str, Formula]] = {
        "ConvNormAct": conv_norm_act,
        "NormActConv": conv_norm_act,
    }

    type: Literal["conv"]
    channels: Channels = Field(description="output channels")
    kernel: Kernel = Field(default=3, description="kernel size")
    stride: Stride = Field(default=1, description="step of the kernel: 2 halves the size")
    padding: Padding | None = Field(
        default=None, description="zeros added on each side; default: keeps the size at stride 1"
    )
    groups: Groups = Field(
        default=1, description="grouped conv: input and output channels divide by it"
    )
    dilation: Dilation = Field(default=1, description="spacing between kernel taps")
    bias: bool | None = Field(
        default=None, description="conv bias; default: only when no norm follows"
    )
    preact: bool = Field(
        default=False, description="norm → act → conv instead of conv → norm → act"
    )
    shortcut: ShortcutSpec | None = shortcut_field()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        pad = self.padding if self.padding is not None else same_padding(self.kernel, self.dilation)
        bias = inherited.has_bias(self.bias)
        params = inherited.conv_params(cin, cout, self.kernel, self.groups, bias)
        params += inherited.norm_params(cin if self.preact else cout)
        act_channels = cin if self.preact else cout
        params += inherited.act_params(act_channels)
        if (
            inherited.norm.type == "none" and inherited.act == "none"
        ):  # nothing but a conv: the bare module
            c = bare_conv(
                inherited.dims,
                cin,
                cout,
                self.kernel,
                stride,
                pad,
                self.dilation,
                self.groups,
                bias,
            )
        else:
            c = call(
                "NormActConv" if self.preact else "ConvNormAct",
                cin,
                cout,
                kernel_size=self.kernel,
                stride=stride,
                padding=self.padding,
                dilation=self.dilation,
                groups=self.groups,
                bias=self.bias if self.bias is not None else inherited.bias,
                act=inherited.act_at(act_channels),
                **inherited.norm_kwargs(),
            )
        return Body(
            out_channels=cout,
            op=("conv", self.kernel, stride, pad, self.dilation),
            params=params,
            make=lambda skip, downsample: c,
            stride=stride,
            errors=groups_errors(cin, cout, self.groups),
            normed=((cin, "in") if self.preact else (cout, "out"),),  # none: nothing to check
        )
