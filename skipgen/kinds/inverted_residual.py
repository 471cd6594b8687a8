"""MobileNetV2's inverted residual, EfficientNet's MBConv."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call, same_padding
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.spec.limits import Channels, ExpansionRatio, Kernel, Stride
from skipgen.spec.vocabulary import STOCHASTIC_DEPTH_DESCRIPTION, Probability


class InvertedResidual(NormActKind):
    """MobileNetV2/EfficientNet MBConv; linear bottleneck; no expand conv at expansion 1"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "drop"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "block"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.mobilenet:InvertedResidual",
        "skipgen.nn.mobilenet:MBConv",
    )

    type: Literal["inverted_residual"]
    channels: Channels = Field(description="output channels")
    expansion: ExpansionRatio = Field(
        default=6.0, description="inner width over the input channels"
    )
    kernel: Kernel = Field(default=3, description="kernel size of the depthwise conv")
    stride: Stride = Field(default=1, description="stride of the depthwise conv")
    se_ratio: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="squeeze-and-excitation channels as a fraction of the input channels",
    )
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )
    layout: Literal["mobilenet_v2", "efficientnet"] = Field(
        default="mobilenet_v2",
        description="state_dict keys; mobilenet_v2: torchvision's MobileNetV2, conv.0 expand, "
        "conv.1 depthwise, conv.2 squeeze-excitation (fc1, fc2), then the projection conv and "
        "its norm as two children; efficientnet: torchvision's EfficientNet MBConv and "
        "MobileNetV3, block.0 expand, block.1 depthwise, block.2 squeeze-excitation, block.3 "
        "projection (.0 conv, .1 norm); without the expand conv (expansion 1) each moves up "
        "one; same parameters and outputs",
    )

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        hidden = round(cin * self.expansion)
        se = max(1, int(cin * self.se_ratio)) if self.se_ratio > 0 else 0
        params = 0
        if hidden != cin:
            params += inherited.conv_params(cin, hidden, 1) + inherited.norm_params(hidden)
        params += inherited.conv_params(
            hidden, hidden, self.kernel, hidden
        ) + inherited.norm_params(hidden)
        if se:
            params += hidden * se + se + se * hidden + hidden
        params += inherited.conv_params(hidden, cout, 1) + inherited.norm_params(cout)

        def make(skip: str, downsample: bool) -> Call:
            return call(
                "MBConv" if self.layout == "efficientnet" else "InvertedResidual",
                cin,
                cout,
                stride=stride,
                hidden_channels=hidden,
                kernel_size=self.kernel,
                se_channels=se,
                act=inherited.act,
                skip=skip,
                downsample=downsample,
                drop_path=self.stochastic_depth or 0.0,
                **inherited.norm_kwargs(),
            )

        expand = ((hidden, "in"),) if hidden != cin else ()
        return Body(
            out_channels=cout,
            op=("conv", self.kernel, stride, same_padding(self.kernel), 1),
            params=params,
            make=make,
            builtin_skip=True,
            stride=stride,
            normed=(*expand, (hidden, "out"), (cout, "out")),
        )
