"""The ResNet bottleneck, with ResNeXt's groups and Wide ResNet's base width, SE-ResNet's
squeeze-and-excitation, and RegNet's widths and layout."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
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
from skipgen.language.limits import (
    BaseWidth,
    Channels,
    Dilation,
    Expansion,
    Groups,
    GroupWidth,
    InnerChannels,
    Stride,
)
from skipgen.language.shortcut import ShortcutSpec, shortcut_field
from skipgen.language.vocabulary import STOCHASTIC_DEPTH_DESCRIPTION, Probability


def bottleneck_convs(call: Call, at: At) -> list[Conv]:
    """1x1 (before the stride), 3x3 and 1x1 convolutions, the SE's, and the projection."""
    a = arguments(call, ("in_channels", "out_channels", "stride"), groups=1, se_channels=0)
    cin, cout, width = a["in_channels"], a["out_channels"], a["width"]
    bias = not has_norm(a.get("norm_layer"))
    convs = [
        (conv_params(cin, width, 1, at.dims, 1, bias), at.inp),  # before the stride
        (conv_params(width, width, 3, at.dims, a["groups"], bias), at.out),
        (conv_params(width, cout, 1, at.dims, 1, bias), at.out),
    ]
    if call.target == "ResBottleneckBlock":  # RegNet's: the SE over the inner width
        convs += squeeze_excitation(width, a["se_channels"], at.dims)
    else:  # SE-ResNet's: the SE over the output, after the last norm
        convs += squeeze_excitation(cout, a["se_channels"], at.dims)
    return convs + shortcut_projection(call, a, at)


class Bottleneck(NormActKind):
    """ResNet bottleneck; ResNeXt/Wide ResNet via `groups`, `base_width`; SE-ResNet and
    RegNet via `se_ratio`, `inner_channels`, `group_width`, `layout`"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "project"
    residual: ClassVar[bool] = True
    scales_depth: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "layer"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.resnet:Bottleneck",
        "skipgen.nn.resnet:PreActBottleneck",
        "skipgen.nn.regnet:ResBottleneckBlock",
    )
    macs: ClassVar[dict[str, Formula]] = dict.fromkeys(
        ("Bottleneck", "PreActBottleneck", "ResBottleneckBlock"), bottleneck_convs
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
    shortcut: ShortcutSpec | None = shortcut_field()
    inner_channels: InnerChannels | None = Field(
        default=None,
        description="channels of the 3x3 conv, given directly (RegNet: channels times the "
        "bottleneck ratio); default: channels // expansion * base_width / 64 * groups",
    )
    group_width: GroupWidth | None = Field(
        default=None,
        description="channels per group of the 3x3 conv (RegNet), instead of groups",
    )
    se_ratio: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="squeeze-and-excitation width as a fraction of the block's input "
        "channels, rounded to the nearest (RegNetY: 0.25); 0: none",
    )
    layout: Literal["resnet", "regnet"] = Field(
        default="resnet",
        description="state_dict keys; resnet: torchvision's ResNet, conv1..bn3, then se, "
        "then downsample; regnet: torchvision's RegNet, the projection proj first, then "
        "f.a, f.b, f.se, f.c (each conv .0, norm .1), the squeeze-and-excitation after "
        "the 3x3 conv",
    )

    def inner_width(self, cout: int) -> int:
        """The channels of the 3x3 conv: given, or as torchvision's ResNet computes them."""
        if self.inner_channels is not None:
            return self.inner_channels
        return int((cout // self.expansion) * (self.base_width / 64.0)) * self.groups

    def conv_groups(self, width: int) -> int:
        """The groups of the 3x3 conv."""
        if self.group_width is not None:
            return max(1, width // self.group_width)
        return self.groups

    def se_width(self, cin: int) -> int:
        """The squeeze-and-excitation's channels (0: none), as torchvision's RegNet rounds."""
        return max(1, round(cin * self.se_ratio)) if self.se_ratio > 0 else 0

    def errors(self, cout: int) -> tuple[LayerError, ...]:
        errors = list(self.formula_errors(cout)) if self.inner_channels is None else []
        width = self.inner_width(cout)
        if self.group_width is not None and self.groups != 1:
            errors.append(
                LayerError(
                    field="group_width",
                    message=f"both groups ({self.groups}) and group_width "
                    f"({self.group_width}) are set",
                    hint="give one: groups counts the groups, group_width their channels",
                )
            )
        elif width and width % (self.group_width or self.groups):
            what = "group_width" if self.group_width is not None else "groups"
            errors.append(
                LayerError(
                    field=what,
                    message=f"the 3x3 conv's {width} channels are not a multiple of "
                    f"{what} {self.group_width or self.groups}",
                    hint="choose inner_channels (or channels) as a multiple of it",
                )
            )
        if self.preact and (self.layout == "regnet" or self.se_ratio > 0):
            errors.append(
                LayerError(
                    field="preact",
                    message="the pre-activation bottleneck has no squeeze-and-excitation "
                    "and no regnet layout",
                    hint="remove preact, or se_ratio and layout",
                )
            )
        return tuple(errors)

    def formula_errors(self, cout: int) -> tuple[LayerError, ...]:
        """Why torchvision's width formula fails for ``cout`` output channels, if it does."""
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

    def target(self) -> str:
        """The skipgen.nn class this bottleneck is."""
        if self.preact:
            return "PreActBottleneck"
        return "ResBottleneckBlock" if self.layout == "regnet" else "Bottleneck"

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        width = self.inner_width(cout)
        groups = self.conv_groups(width)
        se = self.se_width(cin)
        params = inherited.conv_params(cin, width, 1) + inherited.conv_params(
            width, width, 3, groups
        )
        params += inherited.conv_params(width, cout, 1)
        params += inherited.norm_params(cin if self.preact else width) + inherited.norm_params(
            width
        )
        params += inherited.norm_params(width if self.preact else cout)
        se_over = cout if self.layout == "resnet" else width  # where the paper puts it
        if se:
            params += se_over * se + se + se * se_over + se_over
        # one activation layer, used three times (regnet: one after each conv and the add),
        # and the squeeze-and-excitation's
        params += inherited.act_params(cout, (3 if self.layout == "regnet" else 1) + bool(se))

        def make(skip: str, downsample: bool) -> Call:
            return call(
                self.target(),
                cin,
                cout,
                stride=stride,
                width=width,
                groups=groups,
                dilation=self.dilation,
                **({"se_channels": se} if se else {}),
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
