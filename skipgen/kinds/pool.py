"""Max and average pooling."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call, same_padding
from skipgen.kinds.base import Kind
from skipgen.language.limits import Kernel, Padding, Stride
from skipgen.language.shortcut import ShortcutSpec, shortcut_field


def pool_target(kind: str, dims: int) -> str:
    return {"maxpool": "nn.MaxPool", "avgpool": "nn.AvgPool"}[kind] + f"{dims}d"


class MaxPool(Kind):
    """max pooling (padding defaults to `(kernel - 1) // 2`)"""

    attr_prefix: ClassVar[str] = "pool"

    type: Literal["maxpool"]
    kernel: Kernel = Field(default=2, description="window size")
    stride: Stride | None = Field(
        default=None, description="step of the window; default: the kernel size"
    )
    padding: Padding | None = Field(
        default=None, description="padding on each side; default: (kernel - 1) // 2"
    )
    ceil_mode: bool = Field(
        default=False,
        description="count a last, partial window (one that starts inside the input or "
        "its left padding) as torch's ceil_mode does; default: false, whole windows only",
    )
    shortcut: ShortcutSpec | None = shortcut_field()

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        step = self.stride if self.stride is not None else self.kernel  # every repeat pools
        pad = self.padding if self.padding is not None else same_padding(self.kernel)
        errors: list[LayerError] = []
        if 2 * pad > self.kernel:
            errors.append(
                LayerError(
                    field="padding",
                    message=f"padding {pad} is more than half the kernel size {self.kernel}",
                    hint="PyTorch pools allow at most kernel // 2",
                )
            )
        c = call(
            pool_target(self.type, inherited.dims),
            kernel_size=self.kernel,
            stride=step,
            padding=pad,
            **({"ceil_mode": True} if self.ceil_mode else {}),
        )
        # PyTorch's 3D average pool refuses an input smaller than its kernel, padding or not.
        least = self.kernel if self.type == "avgpool" and inherited.dims == 3 else 0
        return Body(
            out_channels=cin,
            op=("conv", self.kernel, step, pad, 1, *((True,) if self.ceil_mode else ())),
            params=0,
            make=lambda skip, downsample: c,
            stride=step,
            errors=tuple(errors),
            min_input=least,
        )


class AvgPool(MaxPool):
    """average pooling (padding defaults to `(kernel - 1) // 2`)"""

    type: Literal["avgpool"]  # type: ignore[assignment]
