"""MobileNetV2's inverted residual, EfficientNet's MBConv and EfficientNetV2's Fused-MBConv,
with MobileNetV3's and EfficientNet's squeeze-and-excitation."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import (
    Body,
    Resolved,
    act_argument,
    act_params,
    call,
    make_divisible,
    same_padding,
)
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
    squeeze_excitation,
)
from skipgen.language.limits import Channels, ExpansionRatio, Kernel, SeDivisor, Stride
from skipgen.language.shortcut import ShortcutSpec, shortcut_field
from skipgen.language.vocabulary import (
    ACT_DESCRIPTION,
    STOCHASTIC_DEPTH_DESCRIPTION,
    ActSpec,
    Probability,
)

# The squeeze-and-excitation keys that mean something only with se_ratio > 0.
SE_OPTIONS = ("se_base", "se_divisor", "se_act", "se_gate")


def inverted_residual_convs(call: Call, at: At) -> list[Conv]:
    """Expansion, depthwise (or a fused kxk), SE and projection convolutions."""
    names = ("in_channels", "out_channels", "stride")
    a = arguments(call, names, kernel_size=3, se_channels=0, fused=False)
    cin, cout, hidden = a["in_channels"], a["out_channels"], a["hidden_channels"]
    bias = not has_norm(a.get("norm_layer"))
    kernel = a["kernel_size"]
    convs: list[Conv] = []
    if a["fused"] and hidden == cin:  # Fused-MBConv at expansion 1: one kxk conv
        convs.append((conv_params(cin, cout, kernel, at.dims, 1, bias), at.out))
        return convs + shortcut_projection(call, a, at)
    if a["fused"]:  # the expansion is a full kxk conv with the stride; no depthwise
        convs.append((conv_params(cin, hidden, kernel, at.dims, 1, bias), at.out))
    else:
        if hidden != cin:
            convs.append((conv_params(cin, hidden, 1, at.dims, 1, bias), at.inp))
        convs.append((conv_params(hidden, hidden, kernel, at.dims, hidden, bias), at.out))
    convs += squeeze_excitation(hidden, a["se_channels"], at.dims)
    convs.append((conv_params(hidden, cout, 1, at.dims, 1, bias), at.out))
    return convs + shortcut_projection(call, a, at)


class InvertedResidual(NormActKind):
    """MobileNetV2/V3 and EfficientNet MBConv; linear bottleneck; no expand conv at expansion
    1; `fused: true`: EfficientNetV2's Fused-MBConv"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "drop"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "block"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.mobilenet:InvertedResidual",
        "skipgen.nn.mobilenet:MBConv",
    )
    macs: ClassVar[dict[str, Formula]] = dict.fromkeys(
        ("InvertedResidual", "MBConv"), inverted_residual_convs
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
        description="squeeze-and-excitation width as a fraction of the se_base channels, "
        "floored; 0: no squeeze-and-excitation",
    )
    se_base: Literal["input", "expanded"] = Field(
        default="input",
        description="the channels se_ratio takes a fraction of: the block's input "
        "(EfficientNet) or its expanded width (MobileNetV3)",
    )
    se_divisor: SeDivisor = Field(
        default=1,
        description="round the squeeze-and-excitation width to a multiple of this, "
        "never more than 10% down (MobileNet's make_divisible; MobileNetV3: 8)",
    )
    se_act: ActSpec | None = Field(
        default=None,
        description="squeeze-and-excitation inner "
        + ACT_DESCRIPTION
        + "; default: the block's act (MobileNetV3: relu)",
    )
    se_gate: Literal["sigmoid", "hardsigmoid"] = Field(
        default="sigmoid",
        description="squeeze-and-excitation gate: sigmoid, or hardsigmoid (MobileNetV3)",
    )
    fused: bool = Field(
        default=False,
        description="EfficientNetV2's Fused-MBConv: the expand conv takes the kernel and "
        "stride and there is no depthwise conv; at expansion 1, one kernel x kernel conv "
        "with norm and act straight to the output channels",
    )
    stochastic_depth: Probability | None = Field(
        default=None, description=STOCHASTIC_DEPTH_DESCRIPTION
    )
    shortcut: ShortcutSpec | None = shortcut_field()
    layout: Literal["mobilenet_v2", "efficientnet"] = Field(
        default="mobilenet_v2",
        description="state_dict keys; mobilenet_v2: torchvision's MobileNetV2, conv.0 expand, "
        "conv.1 depthwise, conv.2 squeeze-excitation (fc1, fc2), then the projection conv and "
        "its norm as two children; efficientnet: torchvision's EfficientNet MBConv and "
        "MobileNetV3, block.0 expand, block.1 depthwise, block.2 squeeze-excitation, block.3 "
        "projection (.0 conv, .1 norm); without the expand conv (expansion 1) each moves up "
        "one; fused: the full expand conv first, no depthwise conv (torchvision's "
        "FusedMBConv: block.0, block.1); same parameters and outputs",
    )

    def se_channels(self, cin: int, hidden: int) -> int:
        """The squeeze-and-excitation width: se_ratio of the base channels, floored, then
        rounded to se_divisor (at least one divisor); 0 without squeeze-and-excitation."""
        if self.se_ratio == 0:
            return 0
        base = hidden if self.se_base == "expanded" else cin
        return make_divisible(int(base * self.se_ratio), self.se_divisor)

    def se_errors(self, hidden: int, cin: int) -> tuple[LayerError, ...]:
        """Squeeze-and-excitation keys that would do nothing, or cannot be built."""
        if self.se_act is not None and self.se_act.per_channel:
            return (
                LayerError(
                    field="se_act",
                    message="a per-channel prelu inside the squeeze-and-excitation is not "
                    "supported",
                    hint="use prelu without per_channel",
                ),
            )
        if self.se_ratio == 0:
            return tuple(
                LayerError(
                    field=key,
                    message=f"{key} has no effect without squeeze-and-excitation",
                    hint="set se_ratio (e.g. 0.25), or remove " + key,
                )
                for key in SE_OPTIONS
                if key in self.model_fields_set
            )
        if self.fused and hidden == cin:
            return (
                LayerError(
                    field="se_ratio",
                    message="a fused block at expansion 1 is a single conv, with no "
                    "squeeze-and-excitation",
                    hint="remove se_ratio, or set an expansion above 1",
                ),
            )
        return ()

    def count_params(self, inherited: Resolved, cin: int, hidden: int, cout: int, se: int) -> int:
        """The block's parameters: its convs and norms, and the squeeze-and-excitation."""
        if self.fused and hidden == cin:  # one conv, straight to cout
            params = inherited.conv_params(cin, cout, self.kernel) + inherited.norm_params(cout)
            return params + inherited.act_params(cout)
        params = 0
        if self.fused:
            params += inherited.conv_params(cin, hidden, self.kernel)
            params += inherited.norm_params(hidden)
        else:
            if hidden != cin:
                params += inherited.conv_params(cin, hidden, 1) + inherited.norm_params(hidden)
            params += inherited.conv_params(hidden, hidden, self.kernel, hidden)
            params += inherited.norm_params(hidden)
        # the activation layers of the expand and the depthwise conv, or of the fused conv
        params += inherited.act_params(hidden, 1 if self.fused else 1 + (hidden != cin))
        if se:  # the two 1x1 convs of the squeeze-and-excitation, with biases
            params += hidden * se + se + se * hidden + hidden
            params += act_params(self.se_act, se) if self.se_act else inherited.act_params(se)
        return params + inherited.conv_params(hidden, cout, 1) + inherited.norm_params(cout)

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        hidden = round(cin * self.expansion)
        se = self.se_channels(cin, hidden)

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
                se_act=None if self.se_act is None else act_argument(self.se_act),
                se_gate=self.se_gate,
                fused=self.fused,
                skip=skip,
                downsample=downsample,
                drop_path=self.stochastic_depth or 0.0,
                **inherited.norm_kwargs(),
            )

        if self.fused and hidden == cin:
            normed: tuple[tuple[int, str], ...] = ((cout, "out"),)
        elif self.fused:
            normed = ((hidden, "out"), (cout, "out"))
        else:
            expand = ((hidden, "in"),) if hidden != cin else ()
            normed = (*expand, (hidden, "out"), (cout, "out"))
        return Body(
            out_channels=cout,
            op=("conv", self.kernel, stride, same_padding(self.kernel), 1),
            params=self.count_params(inherited, cin, hidden, cout, se),
            make=make,
            builtin_skip=True,
            stride=stride,
            errors=self.se_errors(hidden, cin),
            normed=normed,
        )
