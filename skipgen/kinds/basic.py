"""The ResNet basic block."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call, groups_errors
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import (
    At,
    Conv,
    Formula,
    arguments,
    conv_params,
    has_norm,
    shortcut_projection,
)
from skipgen.language.limits import Channels, Dilation, Groups, Stride
from skipgen.language.shortcut import ShortcutSpec, shortcut_field
from skipgen.language.vocabulary import STOCHASTIC_DEPTH_DESCRIPTION, Probability


def basic_convs(call: Call, at: At) -> list[Conv]:
    """Two 3x3 convolutions at the output's positions, and the projection shortcut."""
    a = arguments(call, ("in_channels", "out_channels", "stride"), groups=1)
    cin, cout, bias = a["in_channels"], a["out_channels"], not has_norm(a.get("norm_layer"))
    convs = [
        (conv_params(cin, cout, 3, at.dims, a["groups"], bias), at.out),
        (conv_params(cout, cout, 3, at.dims, 1, bias), at.out),
    ]
    return convs + shortcut_projection(call, a, at)


class Basic(NormActKind):
    """ResNet basic block"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "project"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "layer"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.resnet:BasicBlock",
        "skipgen.nn.resnet:PreActBasicBlock",
    )
    macs: ClassVar[dict[str, Formula]] = {
        "BasicBlock": basic_convs,
        "PreActBasicBlock": basic_convs,
    }

    type: Literal["basic"]
    channels: Channels = Field(description="output channels")
    stride: Stride = Field(
        default=1, description="stride of the first conv (and of the projection)"
    )
    groups: Groups = Field(default=1, description="groups of both convs")
    dilation: Dilation = Field(default=1, description="dilation of both convs")
    preact: bool = Field(default=False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )
    shortcut: ShortcutSpec | None = shortcut_field()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        # As in skipgen.nn's basic blocks, groups and dilation apply to conv1 only.
        params = inherited.conv_params(cin, cout, 3, self.groups) + inherited.conv_params(
            cout, cout, 3
        )
        params += inherited.norm_params(cin if self.preact else cout) + inherited.norm_params(cout)
        params += inherited.act_params(cout)  # one activation layer, used twice

        def make(skip: str, downsample: bool) -> Call:
            return call(
                "PreActBasicBlock" if self.preact else "BasicBlock",
                cin,
                cout,
                stride=stride,
                groups=self.groups,
                dilation=self.dilation,
                act=inherited.act,
                skip=skip,
                downsample=downsample,
                drop_path=self.stochastic_depth or 0.0,
                **inherited.norm_kwargs(),
            )

        return Body(
            out_channels=cout,
            op=("conv", 3, stride, self.dilation, self.dilation),
            params=params,
            make=make,
            builtin_skip=True,
            stride=stride,
            errors=groups_errors(cin, cout, self.groups),
            normed=((cin, "in") if self.preact else (cout, "out"), (cout, "out")),
        )
