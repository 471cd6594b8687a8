"""How a layer builds the projection that makes its shortcut fit its output: a residual
block's own, or a long skip's from an earlier layer.

ResNet projects with a strided 1x1 conv and a norm; ResNet-D (Bag of Tricks, timm's
``avg_down``) averages over the stride first and projects at stride 1; other families use
a wider kernel, no norm, or a bias; and RegNet registers the projection before the block's
branch, where ResNet registers it after. ``shortcut: avgpool`` or ``shortcut: {type: conv,
kernel: 3, norm: none}`` says which; the options apply to the repeats that project.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from skipgen.language.limits import Kernel
from skipgen.language.vocabulary import HintedValueError, NormSpec, StrictModel

ShortcutType = Literal["conv", "avgpool"]


class Shortcut(StrictModel):
    """The projection of a layer's shortcut (its own, or a long skip's), where it has one."""

    type: ShortcutType = Field(
        default="conv",
        description="conv: a conv with the block's stride (ResNet); avgpool: average "
        "pooling over stride x stride windows (ceil mode, padding not counted), then the "
        "conv at stride 1 (ResNet-D, timm's avg_down: keys downsample.1 conv, .2 norm)",
    )
    kernel: Kernel = Field(default=1, description="kernel size of the conv (odd)")
    norm: NormSpec | None = Field(
        default=None,
        description="the conv's norm; default: the block's (none for a pre-activation block)",
    )
    bias: bool | None = Field(
        default=None,
        description="the conv's bias; default: only when no norm follows (never for a "
        "pre-activation block)",
    )
    registered: Literal["first", "last"] | None = Field(
        default=None,
        description="where the projection sits in the block's state_dict: first (before "
        "the branch, as RegNet's proj) or last (after it, as ResNet's downsample); "
        "default: the layout's",
    )

    @field_validator("kernel")
    @classmethod
    def _odd_kernel(cls, value: int) -> int:
        if value % 2 == 0:
            raise HintedValueError(
                f"a shortcut's conv needs an odd kernel, not {value}",
                "an odd kernel with its padding gives the same size as the block's output",
            )
        return value


def _shortcut_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


ShortcutSpec = Annotated[
    Shortcut,
    BeforeValidator(_shortcut_shorthand, json_schema_input_type=ShortcutType | Shortcut),
]


def shortcut_field() -> Any:
    """The ``shortcut`` key of a residual kind."""
    return Field(
        default=None,
        description="how the projection shortcut is built, where the block (or its skip "
        "from an earlier layer) projects: conv or avgpool, or {type, kernel, norm, bias, "
        "registered}; default: a 1x1 conv with the stride and the block's norm",
    )
