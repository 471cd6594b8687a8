"""The `pointwise` kind: a 1x1 conv and the network's norm and activation, whose skip
skipgen adds and projects, and which takes skipgen's shortcut forms. Torch-free."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.language.limits import Channels
from skipgen.language.shortcut import ShortcutSpec, shortcut_field


class Pointwise(Kind):
    """a 1x1 conv, norm and act; skipgen adds its skip (and projects it)"""

    default_skip: ClassVar[str] = "add"
    default_on_mismatch: ClassVar[str] = "project"
    residual: ClassVar[bool] = True
    attr_prefix: ClassVar[str] = "pointwise"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen_convnext.pointwise_nn:PointwiseBlock",)

    type: Literal["pointwise"]
    channels: Channels = Field(description="output channels")
    shortcut: ShortcutSpec | None = shortcut_field()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        params = cin * cout + inherited.norm_params(cout) + inherited.act_params(cout)

        def make(skip: str, downsample: bool) -> object:
            return call("PointwiseBlock", cin, cout, act=inherited.act, **inherited.norm_kwargs())

        return Body(out_channels=cout, op=("conv", 1, 1, 0, 1), params=params, make=make)  # type: ignore[arg-type]


KINDS = (Pointwise,)
