"""The ResNet bottleneck, with ResNeXt's groups and Wide ResNet's base width."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.spec.limits import BaseWidth, Channels, Dilation, Expansion, Groups, Stride
from skipgen.spec.vocabulary import STOCHASTIC_DEPTH_DESCRIPTION, Probability


class Bottleneck(NormActKind):
    """ResNet bottleneck; ResNeXt/Wide ResNet via `groups`, `base_width`"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "project"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "layer"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.resnet:Bottleneck",
        "skipgen.nn.resnet:PreActBottleneck",
    )

    type: Literal["bottleneck"]
    channels: Channels = Field(description="output channels (torchvision: planes * expansion)")
    expansion: Expansion = Field(
        default=4, description="output channels over the inner width (planes)"
    )
    stride: Stride = Field(default=1, description="stride of the 3x3 conv (and of the projection)")
    groups: Groups = Field(default=1, description="groups of the 3x3 conv (ResNeXt's cardinality)")
    base_width: BaseWidth = Field(default=64, description="ResNeXt/Wide ResNet width per group")
    dilation: Dilation = Field(default=1, description="dilation of the 3x3 conv")
    preact: bool = Field(default=False, description="pre-activation block (ResNet v2)")
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )

    def inner_width(self, cout: int) -> int:
        """The channels of the 3x3 conv, as torchvision computes them."""
        return int((cout // self.expansion) * (self.base_width / 64.0)) * self.groups

    def errors(self, cout: int) -> tuple[LayerError, ...]:
        errors: list[LayerError] = []
        if cout % self.expansion:
            errors.append(
                LayerError(
                    field="channels",
                    message=f"bottleneck output channels {cout} are not a multiple of "
                    f"expansion {self.expansion}",
                    hint="channels is the block's output (torchvision's planes * expansion)",
                )
            )
        if self.inner_width(cout) == 0:
            errors.append(
                LayerError(
                    field="base_width",
                    message=f"the bottleneck's 3x3 conv would have 0 channels "
                    f"({cout} // {self.expansion} * {self.base_width} / 64, rounded down)",
                    hint="raise channels or base_width: its width is "
                    "channels // expansion * base_width / 64 * groups",
                )
            )
        return tuple(errors)

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        width = self.inner_width(cout)
        params = inherited.conv_params(cin, width, 1) + inherited.conv_params(
            width, width, 3, self.groups
        )
        params += inherited.conv_params(width, cout, 1)
        params += inherited.norm_params(cin if self.preact else width) + inherited.norm_params(
            width
        )
        params += inherited.norm_params(width if self.preact else cout)

        def make(skip: str, downsample: bool) -> Call:
            return call(
                "PreActBottleneck" if self.preact else "Bottleneck",
                cin,
                cout,
                stride=stride,
                width=width,
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
            errors=self.errors(cout),
            normed=(
                (cin, "in") if self.preact else (width, "in"),
                (width, "out"),
                (width if self.preact else cout, "out"),
            ),
        )
