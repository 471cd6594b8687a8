"""The DenseNet transition."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import At, Conv, Formula, arguments, conv_params, has_norm
from skipgen.language.limits import Channels
from skipgen.language.shortcut import ShortcutSpec, shortcut_field


def transition_convs(call: Call, at: At) -> list[Conv]:
    """The 1x1 convolution, which runs before the pool, at the input's positions."""
    a = arguments(call, ("in_channels", "out_channels"))
    bias = not has_norm(a.get("norm_layer"))
    return [(conv_params(a["in_channels"], a["out_channels"], 1, at.dims, 1, bias), at.inp)]


class Transition(NormActKind):
    """DenseNet transition: norm → act → 1x1 conv → 2x2 pool"""

    attr_prefix: ClassVar[str] = "transition"
    one_act_width: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.densenet:Transition",)
    macs: ClassVar[dict[str, Formula]] = {"Transition": transition_convs}

    type: Literal["transition"]
    compression: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="output channels as a fraction of the input channels",
    )
    channels: Channels | None = Field(
        default=None, description="default: input channels * compression"
    )
    pool: Literal["avg", "max"] = Field(default="avg", description="avg or max pooling")
    shortcut: ShortcutSpec | None = shortcut_field()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        cout = cout or int(cin * self.compression)
        errors: list[LayerError] = []
        if cout == 0:
            errors.append(
                LayerError(
                    field="compression",
                    message=f"a transition from {cin} channels with compression "
                    f"{self.compression} would have 0 channels",
                    hint="raise compression, or give `channels`",
                )
            )
        c = call(
            "Transition",
            cin,
            cout,
            pool=self.pool,
            act=inherited.act_at(cin),
            **inherited.norm_kwargs(),
        )
        return Body(
            out_channels=cout,
            op=("conv", 2, 2, 0, 1),
            params=inherited.norm_params(cin)
            + inherited.act_params(cin)
            + inherited.conv_params(cin, cout, 1),
            make=lambda skip, downsample: c,
            stride=2,
            errors=tuple(errors),
            normed=((cin, "in"),),
        )
