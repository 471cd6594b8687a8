"""The DenseNet dense block."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from skipgen.ir.common import Body, Resolved, call
from skipgen.ir.graph import Call
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import At, Conv, Formula, arguments, conv_params, has_norm
from skipgen.language.limits import BnSize, DenseLayers, Growth
from skipgen.language.shortcut import ShortcutSpec, shortcut_field
from skipgen.language.vocabulary import HintedValueError, Probability


def dense_convs(call: Call, at: At) -> list[Conv]:
    """Each dense layer's 1x1 bottleneck and 3x3 convolutions."""
    a = arguments(call, ("in_channels", "num_layers", "growth"), bn_size=4)
    growth, width = a["growth"], a["bn_size"] * a["growth"]
    bias = not has_norm(a.get("norm_layer"))
    convs: list[Conv] = []
    for i in range(a["num_layers"]):
        cin = a["in_channels"] + i * growth
        convs.append((conv_params(cin, width, 1, at.dims, 1, bias), at.out))
        convs.append((conv_params(width, growth, 3, at.dims, 1, bias), at.out))
    return convs


class Dense(NormActKind):
    """DenseNet dense block (pre-activation, concatenating)"""

    attr_prefix: ClassVar[str] = "denseblock"
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.densenet:DenseBlock",
        "skipgen.nn.densenet:MemoryEfficientDenseBlock",
    )
    macs: ClassVar[dict[str, Formula]] = dict.fromkeys(
        ("DenseBlock", "MemoryEfficientDenseBlock"), dense_convs
    )

    type: Literal["dense"]
    layers: DenseLayers = Field(description="dense layers in the block")
    growth: Growth = Field(description="channels each dense layer adds")
    bn_size: BnSize = Field(default=4, description="bottleneck width as a multiple of growth")
    dropout: Probability = Field(default=0.0, description="dropout rate after each dense layer")
    memory_efficient: bool = Field(
        default=False,
        description="while training, keep only the convolutions' outputs for the backward "
        "pass, which recomputes each dense layer's concatenation, norms and activations",
    )
    shortcut: ShortcutSpec | None = shortcut_field()

    @field_validator("memory_efficient")
    @classmethod
    def _not_checkpointed(cls, value: bool, info: Any) -> bool:
        if value and info.data.get("checkpoint"):
            raise HintedValueError(
                "memory_efficient and checkpoint both recompute the block: choose one",
                "keep memory_efficient, which keeps the convolutions' outputs and so "
                "recomputes less",
            )
        return value

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        params = 0
        width = self.bn_size * self.growth
        for i in range(self.layers):
            channels = cin + i * self.growth
            params += inherited.norm_params(channels) + inherited.conv_params(channels, width, 1)
            params += inherited.norm_params(width) + inherited.conv_params(width, self.growth, 3)
        params += inherited.act_params(width, 2 * self.layers)  # two in each dense layer
        c = call(
            "MemoryEfficientDenseBlock" if self.memory_efficient else "DenseBlock",
            cin,
            self.layers,
            self.growth,
            bn_size=self.bn_size,
            drop_rate=self.dropout,
            act=inherited.act,
            **inherited.norm_kwargs(),
        )
        normed = (*((cin + i * self.growth, "in") for i in range(self.layers)), (width, "in"))
        return Body(
            out_channels=cin + self.layers * self.growth,
            op=("conv", 1, 1, 0, 1),
            params=params,
            make=lambda skip, downsample: c,
            normed=normed,
        )
