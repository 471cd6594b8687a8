"""A norm and an activation alone, or the bare norm layer."""

from __future__ import annotations

from typing import ClassVar, Literal

from skipgen.ir.common import Body, Resolved, bare_norm, call
from skipgen.kinds.base import NormActKind
from skipgen.kinds.macs import Formula, no_convs


class NormAct(NormActKind):
    """a norm and an activation alone (DenseNet's final norm); with `act: none`, the bare
    norm layer"""

    attr_prefix: ClassVar[str] = "norm"
    one_act_width: ClassVar[bool] = True
    channels_last_ok: ClassVar[bool] = True  # a layer norm: nn.LayerNorm over the last axis
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.conv:NormAct",)
    macs: ClassVar[dict[str, Formula]] = {"NormAct": no_convs}

    type: Literal["norm"]

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        if inherited.act == "none":
            c = bare_norm(inherited, cin)
        else:
            c = call("NormAct", cin, act=inherited.act_at(cin), **inherited.norm_kwargs())
        return Body(
            out_channels=cin,
            op=("conv", 1, 1, 0, 1),
            params=inherited.norm_params(cin) + inherited.act_params(cin),
            make=lambda skip, downsample: c,
            normed=((cin, "in"),),
        )
